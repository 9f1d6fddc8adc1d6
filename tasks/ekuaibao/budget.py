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

The bucket itself is kept in Redis (`budget_redis`, every host) or SQLite (`budget_sqlite`,
one host); both follow the rule written here.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
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
