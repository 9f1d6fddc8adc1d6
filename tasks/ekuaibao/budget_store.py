"""The shared budget over a store that keeps one small JSON state atomically.

The rule is Python (`budget`: the rate and its 429 cuts, `line`: who is served next),
applied inside the store's transaction and timed by the store's clock, so every process
(and, with Redis, every host) follows the same line. `SharedState` is that store: SQLite
(`budget_sqlite`) on one host. Across hosts, Redis runs the same rule as one Lua script
per update (`budget_redis`), tested against this one; the per-person cap of lookups in
flight (`tasks.state.inflight`) keeps its state the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from tasks.ekuaibao import line
from tasks.ekuaibao.budget import CUT_EVERY_S, MAX_WAIT_S, effective_rate, floor_rate
from tasks.ekuaibao.line import Bucket, Caller, Grant

T = TypeVar("T")
#: State (and the line in it) outlives its last use by this long.
KEEP_S = 600.0


class SharedState(Protocol):
    def update(self, key: str, change: Callable[[dict[str, Any], float], T]) -> T:
        """Run `change(state, now)` atomically against every process and keep the state it
        leaves: a JSON object (empty at first) edited in place; `now` is the store's clock,
        in seconds."""


class LineLimiter:
    """The tenant's budget: `rate` calls per second, bursts of `burst`, served by `line`."""

    def __init__(self, state: SharedState, key: str, rate: float, burst: int) -> None:
        self._state, self._key = state, key
        self._rate, self._burst = rate, burst

    def _bucket(self, data: dict[str, Any], now: float) -> tuple[Bucket, float, float]:
        """The bucket refilled to `now`, with the rate in force and the burst it allows."""
        if "bucket" not in data:
            bucket = Bucket(float(self._burst), now)
        else:
            bucket = Bucket.from_json(data["bucket"])
        rate = effective_rate(self._rate, bucket.cut, bucket.cut_at, now)
        cap = max(1.0, self._burst * rate / self._rate)
        bucket.tokens = min(cap, bucket.tokens + max(0.0, now - bucket.ts) * rate)
        bucket.ts = now
        return bucket, rate, cap

    def take(
        self, want: int = 1, max_wait_s: float = MAX_WAIT_S, caller: Caller | None = None
    ) -> Grant:
        """`caller`: who waits (without one, a one-off caller that never asks again)."""
        who = caller or Caller(uuid.uuid4().hex)

        def change(data: dict[str, Any], now: float) -> Grant:
            bucket, rate, cap = self._bucket(data, now)
            grant = line.take(bucket, who, want, max_wait_s, now, rate, cap)
            data["bucket"] = bucket.to_json()
            return grant

        return self._state.update(self._key, change)

    def slow_down(self, retry_after_s: float | None) -> float:
        hold = min(retry_after_s or 0.0, MAX_WAIT_S)

        def change(data: dict[str, Any], now: float) -> float:
            bucket, rate, _cap = self._bucket(data, now)
            if now - bucket.halved_at >= CUT_EVERY_S:
                rate, bucket.halved_at = max(floor_rate(self._rate), rate / 2), now
            bucket.tokens = min(bucket.tokens, 1 - hold * rate)
            bucket.cut, bucket.cut_at = rate, now
            data["bucket"] = bucket.to_json()
            return rate

        return self._state.update(self._key, change)
