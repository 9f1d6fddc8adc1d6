"""The shared state of the Ekuaibao budget kept in Redis, for the worker processes of every
host: each update an optimistic transaction (WATCH, then MULTI/EXEC, tried again when another
process wrote first), timed by Redis's own clock so that hosts need not agree on theirs.

Within one process the updates of one key take turns (a lock per key, striped): the
threads or greenlets of a worker would otherwise only make each other's transactions fail,
and a hot key's retries grow with the square of its writers. After WATCH redis-py sends
each command on its own (immediate mode), so the read costs WATCH, GET and TIME."""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Callable
from typing import Any, TypeVar

from tasks.ekuaibao.budget_store import KEEP_S, LineLimiter

T = TypeVar("T")
#: Another process wrote between our read and our write this many times in a row: give up
#: (the caller sees a state error and tries its task again shortly).
MAX_CONFLICTS = 200
#: Locks shared by the keys of one process (a key always takes the same one).
LOCK_STRIPES = 64


class RedisState:
    def __init__(self, redis_url: str, prefix: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix
        self._locks = [threading.Lock() for _ in range(LOCK_STRIPES)]

    def update(self, key: str, change: Callable[[dict[str, Any], float], T]) -> T:
        import redis

        name = f"{self._prefix}:{key}"
        lock = self._locks[zlib.crc32(name.encode()) % LOCK_STRIPES]
        with lock, self._redis.pipeline() as pipe:
            for _ in range(MAX_CONFLICTS):
                try:
                    pipe.watch(name)  # type: ignore[no-untyped-call]
                    raw = pipe.get(name)
                    seconds, micros = pipe.time()
                    state: dict[str, Any] = json.loads(raw) if raw else {}
                    result = change(state, seconds + micros / 1e6)
                    pipe.multi()
                    pipe.set(name, json.dumps(state, separators=(",", ":")), px=int(KEEP_S * 1000))
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue
        raise redis.exceptions.ConnectionError(f"{name}: too many conflicting writers")


class RedisRateLimiter(LineLimiter):
    """The budget in Redis, for the workers of every host."""

    def __init__(self, redis_url: str, key: str, rate: float, burst: int) -> None:
        super().__init__(RedisState(redis_url, "invoicebot:ekuaibao-line"), key, rate, burst)
