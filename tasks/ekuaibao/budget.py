"""One request budget for Ekuaibao shared by every worker process (and host, with Redis).

Ekuaibao documents no limits for the invoice endpoints but does limit others (QPS=1..5),
so the bot stays conservative. A token bucket hands out reservations: a caller that finds
the bucket empty is given the next free slot and waits for it, so calls are served roughly
first come, first served across all workers. A caller whose slot is further away than
`MAX_WAIT_S` is refused *without* taking it, so refusals never push later callers back.

A 429 from Ekuaibao halves the shared rate (and holds every caller back for its
`Retry-After`); after a quiet minute the rate climbs back to the configured one.

A generous budget is taken from the shared bucket a few slots at a time (a lease spent
within `LEASE_S`), so a busy worker does not pay a Redis round trip for every call; a tight
budget (the default) is taken one slot at a time, exactly.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol

import httpx

log = logging.getLogger(__name__)

#: A call whose slot is further away than this is refused (and its lookup retried later).
MAX_WAIT_S = 30.0
#: A wait longer than this is told to the person (how many lookups are ahead of theirs).
TELL_AFTER_S = 4.0
#: Slots taken ahead are used within this long or dropped (never saved up for a burst).
LEASE_S = 0.05
#: After a 429 the rate stays lowered until Ekuaibao has been quiet this long...
QUIET_S = 60.0
#: ...then climbs back linearly, reaching the configured rate after at most this long.
RAMP_S = 60.0
#: 429s closer together than this are one event: the rate is halved once for them.
CUT_EVERY_S = 2.0
#: Never below this fraction of the configured rate (nor below MIN_RATE).
MIN_FRACTION = 1 / 16
MIN_RATE = 0.2
#: The bucket's state outlives its last use by 600 s (the scripts' PEXPIRE).

#: Shared by both buckets: the state is (tokens, ts, cut, cut_at, halved_at); times in ms.
#: effective rate = configured, or `cut` within QUIET of the last 429, then a linear ramp.
_LUA_RATE = """
local function effective(rate, cut, cut_at, now, quiet, ramp)
  if not cut then return rate end
  local calm = now - cut_at - quiet
  if calm <= 0 then return cut end
  return math.min(rate, cut + (rate - cut) * calm / ramp)
end
"""

#: take: KEYS {bucket, queue}; ARGV {rate, burst, want, max_wait_ms, ticket, quiet, ramp}.
#: Returns {granted, wait_ms, lookups_ahead}; granted 0 = refused and nothing reserved.
_LUA_TAKE = (
    _LUA_RATE
    + """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate, burst, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local max_wait, ticket = tonumber(ARGV[4]), ARGV[5]
local d = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'cut', 'cut_at')
local cut, cut_at = tonumber(d[3]), tonumber(d[4]) or 0
local r = effective(rate, cut, cut_at, now, tonumber(ARGV[6]), tonumber(ARGV[7]))
local cap = math.max(1, burst * r / rate)
local tokens = tonumber(d[1]) or burst
local ts = tonumber(d[2]) or now
tokens = math.min(cap, tokens + (now - ts) * r / 1000)
local granted = 1
if tokens >= 1 then granted = math.min(want, math.floor(tokens)) end
local left = tokens - granted
local wait = 0
if left < 0 then wait = math.ceil(-left * 1000 / r) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local ahead = 0
if wait > 0 then
  ahead = redis.call('ZCOUNT', KEYS[2], '-inf', now + wait - 1)
  local mine = tonumber(redis.call('ZSCORE', KEYS[2], ticket))
  if mine and mine < now + wait then ahead = ahead - 1 end
end
if wait > max_wait then return {0, wait, ahead} end
redis.call('HSET', KEYS[1], 'tokens', tostring(left), 'ts', now)
if ticket ~= '' and wait > 0 then
  redis.call('ZADD', KEYS[2], 'GT', now + wait, ticket)
end
redis.call('PEXPIRE', KEYS[1], 600000)
redis.call('PEXPIRE', KEYS[2], 600000)
return {granted, wait, ahead}
"""
)

#: slow_down: KEYS {bucket}; ARGV {rate, burst, retry_after_ms, quiet, ramp, cut_every,
#: floor}. Returns the new rate, in thousandths of a request per second.
_LUA_SLOW_DOWN = (
    _LUA_RATE
    + """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate, burst, hold = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local d = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'cut', 'cut_at', 'halved_at')
local cut, cut_at, halved_at = tonumber(d[3]), tonumber(d[4]) or 0, tonumber(d[5]) or 0
local r = effective(rate, cut, cut_at, now, tonumber(ARGV[4]), tonumber(ARGV[5]))
local tokens = tonumber(d[1]) or burst
local ts = tonumber(d[2]) or now
tokens = math.min(math.max(1, burst * r / rate), tokens + (now - ts) * r / 1000)
if now - halved_at >= tonumber(ARGV[6]) then
  r = math.max(tonumber(ARGV[7]), r / 2)
  halved_at = now
end
tokens = math.min(tokens, 1 - hold * r / 1000)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now, 'cut', tostring(r),
  'cut_at', now, 'halved_at', halved_at)
redis.call('PEXPIRE', KEYS[1], 600000)
return math.floor(r * 1000)
"""
)


class Grant(NamedTuple):
    """`granted` slots (0: refused, nothing taken); the first may be used after `wait_s`;
    `ahead` other lookups have a call waiting for an earlier slot."""

    granted: int
    wait_s: float
    ahead: int = 0


def lease_size(rate: float, burst: int) -> int:
    """Slots to take at once: what the budget refills in LEASE_S, at most a tenth of the
    burst; 1 (no lease) for budgets as tight as the default 5 req/s."""
    return max(1, min(burst // 10, int(rate * LEASE_S)))


def floor_rate(rate: float) -> float:
    return min(rate, max(MIN_RATE, rate * MIN_FRACTION))


def effective_rate(rate: float, cut: float | None, cut_at: float, now: float) -> float:
    """The configured rate, or the lowered one within a quiet minute of the last 429, then
    a linear climb back (the same rule as the Redis script)."""
    if cut is None:
        return rate
    calm = now - cut_at - QUIET_S
    if calm <= 0:
        return cut
    return min(rate, cut + (rate - cut) * calm / RAMP_S)


class RateLimiter(Protocol):
    def take(self, want: int = 1, max_wait_s: float = MAX_WAIT_S, ticket: str = "") -> Grant:
        """Up to `want` slots that are free now, or else the next free slot if it is at most
        `max_wait_s` away; `ticket` names the lookup, to count the lookups ahead of it."""

    def slow_down(self, retry_after_s: float | None) -> float:
        """Ekuaibao said 429: lower the shared rate, hold callers back for `retry_after_s`;
        returns the rate now in force."""


class RedisRateLimiter:
    def __init__(self, redis_url: str, key: str, rate: float, burst: int) -> None:
        import redis

        self._redis = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self._take = self._redis.register_script(_LUA_TAKE)
        self._slow_down = self._redis.register_script(_LUA_SLOW_DOWN)
        self._key = f"invoicebot:ekuaibao-rate:{key}"
        self._queue = f"invoicebot:ekuaibao-queue:{key}"
        self._rate, self._burst = rate, burst

    def take(self, want: int = 1, max_wait_s: float = MAX_WAIT_S, ticket: str = "") -> Grant:
        max_wait_ms = min(max_wait_s, 10.0**9) * 1000
        args: list[str | float] = [self._rate, self._burst, want, max_wait_ms, ticket]
        args += [QUIET_S * 1000, RAMP_S * 1000]
        granted, wait_ms, ahead = self._take(keys=[self._key, self._queue], args=args)
        return Grant(int(granted), float(wait_ms) / 1000, max(0, int(ahead)))

    def slow_down(self, retry_after_s: float | None) -> float:
        hold_ms = min(retry_after_s or 0.0, MAX_WAIT_S) * 1000
        args: list[str | float] = [
            self._rate,
            self._burst,
            hold_ms,
            QUIET_S * 1000,
            RAMP_S * 1000,
            CUT_EVERY_S * 1000,
            floor_rate(self._rate),
        ]
        return float(self._slow_down(keys=[self._key], args=args)) / 1000


class SQLiteRateLimiter:
    """The same bucket in one SQLite file, for the processes of one host."""

    def __init__(
        self, path: Path, rate: float, burst: int, clock: Callable[[], float] = time.time
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._db = sqlite3.connect(path, timeout=5, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS budget (id INTEGER PRIMARY KEY, tokens REAL, ts REAL, "
            "cut REAL, cut_at REAL, halved_at REAL)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS queue (ticket TEXT PRIMARY KEY, due REAL)")
        self._rate, self._burst, self._clock = rate, burst, clock
        self._lock = threading.Lock()

    def _state(self, now: float) -> tuple[float, float | None, float, float, float]:
        """(tokens now, cut, cut_at, halved_at, effective rate), refilled up to `now`."""
        row = self._db.execute(
            "SELECT tokens, ts, cut, cut_at, halved_at FROM budget WHERE id = 1"
        ).fetchone()
        if row is None:
            row = (float(self._burst), now, None, 0.0, 0.0)
        tokens, ts, cut, cut_at, halved_at = row
        rate = effective_rate(self._rate, cut, cut_at, now)
        cap = max(1.0, self._burst * rate / self._rate)
        return min(cap, tokens + (now - ts) * rate), cut, cut_at, halved_at, rate

    def take(self, want: int = 1, max_wait_s: float = MAX_WAIT_S, ticket: str = "") -> Grant:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                now = self._clock()
                tokens, cut, cut_at, halved_at, rate = self._state(now)
                granted = min(want, int(tokens)) if tokens >= 1 else 1
                left = tokens - granted
                wait = 0.0 if left >= 0 else -left / rate
                self._db.execute("DELETE FROM queue WHERE due <= ?", (now,))
                ahead = 0
                if wait > 0:
                    due = now + wait
                    (ahead,) = self._db.execute(
                        "SELECT COUNT(*) FROM queue WHERE due < ? AND ticket != ?", (due, ticket)
                    ).fetchone()
                if wait > max_wait_s:
                    self._db.execute("COMMIT")
                    return Grant(0, wait, ahead)
                self._db.execute(
                    "INSERT OR REPLACE INTO budget VALUES (1, ?, ?, ?, ?, ?)",
                    (left, now, cut, cut_at, halved_at),
                )
                if ticket and wait > 0:
                    self._db.execute(
                        "INSERT INTO queue VALUES (?, ?) ON CONFLICT (ticket) "
                        "DO UPDATE SET due = max(due, excluded.due)",
                        (ticket, now + wait),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return Grant(granted, wait, ahead)

    def slow_down(self, retry_after_s: float | None) -> float:
        hold = min(retry_after_s or 0.0, MAX_WAIT_S)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                now = self._clock()
                tokens, _cut, _cut_at, halved_at, rate = self._state(now)
                if now - halved_at >= CUT_EVERY_S:
                    rate, halved_at = max(floor_rate(self._rate), rate / 2), now
                tokens = min(tokens, 1 - hold * rate)
                self._db.execute(
                    "INSERT OR REPLACE INTO budget VALUES (1, ?, ?, ?, ?, ?)",
                    (tokens, now, rate, now, halved_at),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return rate


class RateLimited(httpx.TransportError):
    """Our own budget is spent for longer than a caller should wait; try again later."""

    def __init__(self, wait_s: float, ahead: int, request: httpx.Request) -> None:
        super().__init__("the shared Ekuaibao request budget is spent", request=request)
        self.wait_s = wait_s
        self.ahead = ahead


@dataclass(frozen=True)
class Waiting:
    """Whose calls these are (`ticket`, one per lookup) and whom to tell when one of them
    waits longer than TELL_AFTER_S for its slot: `tell(wait_s, lookups_ahead)`."""

    ticket: str
    tell: Callable[[float, int], None]


#: Set by the lookup around its Ekuaibao calls (copied into the pool threads it uses).
waiting: ContextVar[Waiting | None] = ContextVar("ekuaibao_waiting", default=None)


class RateLimitedTransport(httpx.BaseTransport):
    """Every Ekuaibao request waits for its slot first, whichever client method sends it;
    a 429 answer lowers the shared rate for everyone."""

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

    def _reserve(self, ticket: str) -> Grant:
        if self._lease == 1:
            return self._limiter.take(1, MAX_WAIT_S, ticket)
        with self._lock:
            now = self._clock()
            if self._left > 0 and now < self._until:
                self._left -= 1
                return Grant(1, 0.0)
            grant = self._limiter.take(self._lease, MAX_WAIT_S, ticket)
            if grant.granted:
                self._left, self._until = grant.granted - 1, now + LEASE_S
            return grant

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        who = waiting.get()
        grant = self._reserve(who.ticket if who else "")
        if not grant.granted:
            raise RateLimited(grant.wait_s, grant.ahead, request)
        if grant.wait_s > TELL_AFTER_S and who is not None:
            try:
                who.tell(grant.wait_s, grant.ahead)
            except Exception:  # a progress note must never cost the lookup
                log.exception("could not tell about the wait for the Ekuaibao budget")
        if grant.wait_s > 0:
            self._sleep(grant.wait_s)
        response = self._inner.handle_request(request)
        if response.status_code == 429:
            retry_after = _retry_after(response.headers.get("Retry-After", ""))
            try:
                rate = self._limiter.slow_down(retry_after)
            except Exception as exc:  # the 429 itself still reaches the caller
                log.warning("could not lower the shared Ekuaibao rate: %s", type(exc).__name__)
            else:
                log.warning("Ekuaibao answered 429: shared rate lowered to %.2f req/s", rate)
        return response

    def close(self) -> None:
        self._inner.close()


def _retry_after(value: str) -> float | None:
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None
