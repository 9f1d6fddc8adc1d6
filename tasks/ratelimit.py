"""One request budget for Ekuaibao shared by every worker process (and host, with Redis).

Ekuaibao documents no limits for the invoice endpoints but does limit others (QPS=1..5),
so the bot stays conservative. A token bucket hands out reservations: a caller that finds
the bucket empty is told how long to wait for its turn instead of spinning.

A generous budget is taken from the shared bucket a few slots at a time (a lease spent
within `LEASE_S`), so a busy worker does not pay a Redis round trip for every call; a tight
budget (the default) is taken one slot at a time, exactly.
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
#: Slots taken ahead are used within this long or dropped (never saved up for a burst).
LEASE_S = 0.05

#: {granted, wait_ms}: up to ARGV[3] slots that are free now, or else one slot after a wait.
_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate, burst, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local data = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(data[1]) or burst
local ts = tonumber(data[2]) or now
tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
local granted = 1
if tokens >= 1 then granted = math.min(want, math.floor(tokens)) end
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], 60000)
if tokens >= 0 then return {granted, 0} end
return {granted, math.ceil(-tokens * 1000 / rate)}
"""


def lease_size(rate: float, burst: int) -> int:
    """Slots to take at once: what the budget refills in LEASE_S, at most a tenth of the
    burst; 1 (no lease) for budgets as tight as the default 5 req/s."""
    return max(1, min(burst // 10, int(rate * LEASE_S)))


class RateLimiter(Protocol):
    def take(self, want: int = 1) -> tuple[int, float]:
        """Take up to `want` slots that are free now, or else one slot that is free after a
        wait: returns (slots taken, seconds to wait before using the first)."""

    def reserve(self) -> float:
        """Take one request slot; returns seconds to wait before using it."""


class RedisRateLimiter:
    def __init__(self, redis_url: str, key: str, rate: float, burst: int) -> None:
        import redis

        self._redis = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self._script = self._redis.register_script(_LUA)
        self._key, self._rate, self._burst = f"invoicebot:ekuaibao-rate:{key}", rate, burst

    def take(self, want: int = 1) -> tuple[int, float]:
        granted, wait_ms = self._script(keys=[self._key], args=[self._rate, self._burst, want])
        return int(granted), float(wait_ms) / 1000

    def reserve(self) -> float:
        return self.take(1)[1]


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

    def take(self, want: int = 1) -> tuple[int, float]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                now = self._clock()
                row = self._db.execute("SELECT tokens, ts FROM bucket WHERE id = 1").fetchone()
                tokens, ts = (float(row[0]), float(row[1])) if row else (float(self._burst), now)
                tokens = min(self._burst, tokens + (now - ts) * self._rate)
                granted = min(want, int(tokens)) if tokens >= 1 else 1
                tokens -= granted
                self._db.execute(
                    "INSERT OR REPLACE INTO bucket (id, tokens, ts) VALUES (1, ?, ?)", (tokens, now)
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return granted, 0.0 if tokens >= 0 else -tokens / self._rate

    def reserve(self) -> float:
        return self.take(1)[1]


class RateLimited(httpx.TransportError):
    """Our own budget is spent for longer than a caller should wait; try again later."""


class RateLimitedTransport(httpx.BaseTransport):
    """Every Ekuaibao request waits for its slot first, whichever client method sends it."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        limiter: RateLimiter,
        *,
        lease: int = 1,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self._limiter = limiter
        self._lease = max(1, lease)
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._left = 0  # slots of the current lease not used yet
        self._until = 0.0

    def _reserve(self) -> float:
        if self._lease == 1:
            return self._limiter.take(1)[1]
        with self._lock:
            now = self._clock()
            if self._left > 0 and now < self._until:
                self._left -= 1
                return 0.0
            granted, wait = self._limiter.take(self._lease)
            self._left, self._until = granted - 1, now + LEASE_S
            return wait

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        wait = self._reserve()
        if wait > MAX_WAIT_S:
            raise RateLimited("the shared Ekuaibao request budget is spent", request=request)
        if wait > 0:
            self._sleep(wait)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()
