"""One request budget for Ekuaibao shared by every worker process (and host, with Redis).

Ekuaibao documents no limits for the invoice endpoints but does limit others (QPS=1..5),
so the bot stays conservative. A token bucket hands out reservations: a caller that finds
the bucket empty is told how long to wait for its turn instead of spinning.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import httpx

#: A call that would have to wait longer than this fails instead (and is retried later).
MAX_WAIT_S = 10.0

_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local data = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(data[1]) or burst
local ts = tonumber(data[2]) or now
tokens = math.min(burst, tokens + (now - ts) * rate / 1000) - 1
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], 60000)
if tokens >= 0 then return 0 end
return math.ceil(-tokens * 1000 / rate)
"""


class RateLimiter(Protocol):
    def reserve(self) -> float:
        """Take one request slot; returns seconds to wait before using it."""


class RedisRateLimiter:
    def __init__(self, redis_url: str, key: str, rate: float, burst: int) -> None:
        import redis

        self._redis = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self._script = self._redis.register_script(_LUA)
        self._key, self._rate, self._burst = f"invoicebot:ekuaibao-rate:{key}", rate, burst

    def reserve(self) -> float:
        wait_ms = self._script(keys=[self._key], args=[self._rate, self._burst])
        return float(wait_ms) / 1000


class SQLiteRateLimiter:
    def __init__(
        self, path: Path, rate: float, burst: int, clock: Callable[[], float] = time.time
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._db = sqlite3.connect(path, timeout=5, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS bucket (id INTEGER PRIMARY KEY, tokens REAL, ts REAL)"
        )
        self._rate, self._burst, self._clock = rate, burst, clock
        self._lock = threading.Lock()

    def reserve(self) -> float:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                now = self._clock()
                row = self._db.execute("SELECT tokens, ts FROM bucket WHERE id = 1").fetchone()
                tokens, ts = (float(row[0]), float(row[1])) if row else (float(self._burst), now)
                tokens = min(self._burst, tokens + (now - ts) * self._rate) - 1
                self._db.execute(
                    "INSERT OR REPLACE INTO bucket (id, tokens, ts) VALUES (1, ?, ?)", (tokens, now)
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return 0.0 if tokens >= 0 else -tokens / self._rate


class RateLimited(httpx.TransportError):
    """Our own budget is spent for longer than a caller should wait; try again later."""


class RateLimitedTransport(httpx.BaseTransport):
    """Every Ekuaibao request waits for its slot first, whichever client method sends it."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        limiter: RateLimiter,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._inner = inner
        self._limiter = limiter
        self._sleep = sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        wait = self._limiter.reserve()
        if wait > MAX_WAIT_S:
            raise RateLimited("the shared Ekuaibao request budget is spent", request=request)
        if wait > 0:
            self._sleep(wait)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()
