"""The budget's wait line: who gets the next Ekuaibao slot when there are not enough.

Pure (state in, state out, the clock passed in), so the rule is written once and the stores
(`budget_store`: SQLite on one host, Redis across hosts) only keep the state atomically.

* **By class first**: a decision, then a review card or ask, then an interactive lookup,
  then bulk lookups. Each class also leaves a few slots in the bucket for the classes above
  it (`RESERVE`, a fraction of the burst), so a decision or a person's `/invoice` finds a
  slot at once even while bulk lookups keep the budget busy: bulk still gets the whole
  rate, it only runs the bucket down to its reserve instead of to zero.
* **Fairly between people within a class**: start-time fair queuing. Each waiting call
  gets a tag one past the later of its person's last tag and the class's last served tag;
  the lowest tag goes first. A hundred calls of one person take tags 1..100, the next
  person's call takes tag 1 again: people are served in turn, not by who queued most.
  One person's tags go to their lookups in the order the lookups joined the line (the
  calls of a lookup join a few at a time, interleaved with their other lookups' calls):
  their first lookup is then answered first, instead of all of them near the end.
* A caller polls (`take` again) until its turn; one that stops polling (its process died)
  leaves the line after `STALE_S`. A caller whose turn is further away than it may wait is
  refused and leaves the line without taking anything.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

Priority = Literal["decision", "review", "interactive", "bulk"]
#: Served in this order.
PRIORITIES: tuple[Priority, ...] = ("decision", "review", "interactive", "bulk")
#: Slots each class leaves in the bucket for those above it, as a fraction of the burst
#: (rounded down, so a burst of 1 reserves nothing): at the default burst of 10, bulk
#: leaves 5 (a lookup's 3 calls plus a decision's), an interactive lookup 2, a card 1.
RESERVE: dict[Priority, float] = {"decision": 0.0, "review": 0.1, "interactive": 0.2, "bulk": 0.5}
#: A caller that has not polled for this long has gone (its process died).
STALE_S = 6.0


class Grant(NamedTuple):
    """`granted` slots, usable now; or none (0) and the estimated `wait_s` for one, with
    `ahead` other lookups in line before this call. `queued`: the caller holds its place
    and should ask again; not queued with nothing granted: refused (the wait is too long)."""

    granted: int
    wait_s: float
    ahead: int = 0
    queued: bool = False


@dataclass(frozen=True)
class Caller:
    """One Ekuaibao call waiting for a slot: `call` is unique to it, `ticket` names its
    lookup (to count lookups ahead), `who` the person it is for."""

    call: str
    ticket: str = ""
    who: str = ""
    priority: Priority = "interactive"


@dataclass
class Bucket:
    """The shared state: the tokens (with any 429 cut), and the line of waiting calls."""

    tokens: float
    ts: float
    cut: float | None = None
    cut_at: float = 0.0
    halved_at: float = 0.0
    #: call -> [ticket, who, priority, tag, seq, last poll, its lookup's first seq]
    waiters: dict[str, list[Any]] = field(default_factory=dict)
    #: "priority who" -> that person's last tag in that class.
    tags: dict[str, float] = field(default_factory=dict)
    #: priority -> the last tag served in it.
    served: dict[str, float] = field(default_factory=dict)
    seq: int = 0

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Bucket:
        return cls(**data)


def _line(waiters: dict[str, list[Any]]) -> list[str]:
    """The waiting calls in the order they are served: by class, then tag, then arrival;
    within one person and class, their tags are taken by their lookups in the order each
    lookup's first call arrived."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for call, entry in waiters.items():
        groups[(entry[2], entry[1])].append(call)
    keyed: list[tuple[int, float, int, str]] = []
    for calls in groups.values():
        lookup = {call: waiters[call][0] or call for call in calls}
        first: dict[str, int] = {}
        for call in calls:
            since = _since(waiters[call])
            first[lookup[call]] = min(first.get(lookup[call], since), since)
        tags = sorted(float(waiters[call][3]) for call in calls)
        in_lookup_order = sorted(calls, key=lambda c: (first[lookup[c]], waiters[c][4]))
        for tag, call in zip(tags, in_lookup_order, strict=True):
            entry = waiters[call]
            keyed.append((PRIORITIES.index(entry[2]), tag, int(entry[4]), call))
    return [call for *_, call in sorted(keyed)]


def _since(entry: list[Any]) -> int:
    """When the entry's lookup joined the line (its first call's arrival)."""
    return int(entry[6] if len(entry) > 6 else entry[4])


def usable(bucket: Bucket, priority: Priority, cap: float) -> float:
    """Tokens a call of `priority` may use: those above its class's reserve."""
    return bucket.tokens - math.floor(RESERVE[priority] * cap)


def take(
    bucket: Bucket,
    caller: Caller,
    want: int,
    max_wait_s: float,
    now: float,
    rate: float,
    cap: float,
) -> Grant:
    """Serve `caller` if its turn has come, else keep (or refuse) its place. `rate` is the
    rate in force and the bucket already refilled to `now` (see `budget_store`)."""
    for call, entry in list(bucket.waiters.items()):
        if entry[5] < now - STALE_S:
            del bucket.waiters[call]
    mine = bucket.waiters.get(caller.call)
    if mine is None:
        person = f"{caller.priority} {caller.who}"
        tag = max(bucket.served.get(caller.priority, 0.0), bucket.tags.get(person, 0.0)) + 1
        siblings = [
            _since(w)
            for w in bucket.waiters.values()
            if caller.ticket and w[0] == caller.ticket and w[1:3] == [caller.who, caller.priority]
        ]
        since = min(siblings, default=bucket.seq)
        mine = [caller.ticket, caller.who, caller.priority, tag, bucket.seq, now, since]
    waiters = {**bucket.waiters, caller.call: mine}
    line = _line(waiters)
    rank = line.index(caller.call)
    free = math.floor(usable(bucket, caller.priority, cap))
    if rank < free:
        granted = min(want, free - rank)
        bucket.tokens -= granted
        bucket.waiters.pop(caller.call, None)
        _served(bucket, caller.priority, mine[3])
        return Grant(granted, 0.0)
    wait = (rank + 1 - usable(bucket, caller.priority, cap)) / rate
    ahead = len({waiters[call][0] for call in line[:rank]} - {caller.ticket, ""})
    if wait > max_wait_s:
        bucket.waiters.pop(caller.call, None)
        return Grant(0, wait, ahead)
    if caller.call not in bucket.waiters:
        bucket.waiters[caller.call] = mine
        bucket.tags[f"{caller.priority} {caller.who}"] = mine[3]
        bucket.seq += 1
    mine[5] = now
    return Grant(0, wait, ahead, queued=True)


def _served(bucket: Bucket, priority: Priority, tag: float) -> None:
    served = max(bucket.served.get(priority, 0.0), tag)
    bucket.served[priority] = served
    prefix = f"{priority} "
    for person in [p for p, t in bucket.tags.items() if p.startswith(prefix) and t <= served]:
        del bucket.tags[person]
