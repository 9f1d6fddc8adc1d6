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

The bucket and its line are kept in Redis (`budget_redis`, every host) or SQLite
(`budget_sqlite`, one host); both apply the one rule of `budget_store` and `line`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

import httpx

from tasks.ekuaibao.line import Caller, Grant, Priority

log = logging.getLogger(__name__)

#: A call whose slot is further away than this is refused (and its lookup retried later).
MAX_WAIT_S = 30.0
#: A wait longer than this is told to the person (how many lookups are ahead of theirs).
TELL_AFTER_S = 4.0
#: A caller in line asks again after its estimated wait, but at least this often...
POLL_S = 0.5
#: ...and not sooner than this; one whose turn is further away asks again POLL_S before
#: it, at most FAR_POLL_S apart (well within the line's STALE_S): a burst's hundreds of
#: callers then do not all contend for the shared state twice a second.
MIN_POLL_S = 0.01
FAR_POLL_S = 2.0
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
    def take(
        self, want: int = 1, max_wait_s: float = MAX_WAIT_S, caller: Caller | None = None
    ) -> Grant:
        """Up to `want` slots if it is `caller`'s turn; else its place in line (or a refusal
        when its turn is more than `max_wait_s` away)."""

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
    """Whose calls these are: `ticket` (one per lookup), the person (`who`) and the
    `priority` they wait with; and whom to tell when one of them waits longer than
    TELL_AFTER_S for its slot: `tell(wait_s, lookups_ahead)`."""

    ticket: str = ""
    tell: Callable[[float, int], None] | None = None
    who: str = ""
    priority: Priority = "interactive"


#: Set around a task's Ekuaibao calls (copied into the pool threads it uses).
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

    def _reserve(self, caller: Caller, max_wait_s: float) -> Grant:
        if self._lease == 1:
            return self._limiter.take(1, max_wait_s, caller)
        with self._lock:
            now = self._clock()
            if self._left > 0 and now < self._until:
                self._left -= 1
                return Grant(1, 0.0)
            grant = self._limiter.take(self._lease, max_wait_s, caller)
            if grant.granted:
                self._left, self._until = grant.granted - 1, now + LEASE_S
            return grant

    def _wait_turn(self, request: httpx.Request) -> None:
        """Ask for a slot until it is this call's turn, telling a long wait once."""
        who = waiting.get() or Waiting()
        caller = Caller(uuid.uuid4().hex, who.ticket, who.who, who.priority)
        waited, told = 0.0, False
        while True:
            grant = self._reserve(caller, MAX_WAIT_S - waited)
            if grant.granted:
                return
            if not grant.queued:
                raise RateLimited(waited + grant.wait_s, grant.ahead, request)
            if not told and waited + grant.wait_s > TELL_AFTER_S and who.tell is not None:
                told = True
                try:
                    who.tell(waited + grant.wait_s, grant.ahead)
                except Exception:  # a progress note must never cost the lookup
                    log.exception("could not tell about the wait for the Ekuaibao budget")
            pause = poll_in(grant.wait_s)
            self._sleep(pause)
            waited += pause

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._wait_turn(request)
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


def poll_in(wait_s: float) -> float:
    """When a caller in line asks again, for a turn estimated `wait_s` away."""
    if wait_s <= 2 * POLL_S:
        return min(max(wait_s, MIN_POLL_S), POLL_S)
    return min(wait_s - POLL_S, FAR_POLL_S)


def _retry_after(value: str) -> float | None:
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None


@contextmanager
def waiting_as(who: str, priority: Priority) -> Iterator[None]:
    """The Ekuaibao calls made inside are `who`'s, waiting in line with `priority`."""
    token = waiting.set(Waiting(who=who, priority=priority))
    try:
        yield
    finally:
        waiting.reset(token)
