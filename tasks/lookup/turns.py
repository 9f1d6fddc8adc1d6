"""A person's lookups take turns, and which class their Ekuaibao calls wait in.

At most LOOKUPS_PER_PERSON of one person's lookups fetch at once (`tasks.state.inflight`);
the others come back later as tasks, holding neither a worker thread nor budget slots, and
the person is told once that they queue behind their own lookups.

A lookup is **bulk** (served after everyone's interactive ones, `tasks.ekuaibao.line`)
when it came as a message (a DM or a mention, which can be scripted by the hundred) or when
its person already has another lookup in flight; a slash command or a button, someone's
only lookup right now, is **interactive**: they are looking at its "Looking up…" ack.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from tasks.contracts import LookupRequest
from tasks.ekuaibao.line import Priority
from tasks.lookup.delivery import deliver
from tasks.lookup.deps import Deps
from tasks.shared import acks
from tasks.shared.texts import Texts

log = logging.getLogger(__name__)


class Turn(NamedTuple):
    """`retry_in` None: go now, with `priority`; else come back after that many seconds."""

    retry_in: float | None
    priority: Priority = "interactive"


def person(request: LookupRequest) -> str:
    return f"{request.team_id}:{request.user_id}"


def priority_of(request: LookupRequest, others_in_flight: int) -> Priority:
    return "bulk" if request.by_message or others_in_flight else "interactive"


def take_turn(request: LookupRequest, deps: Deps, texts: Texts, attempt: int) -> Turn:
    """May this lookup fetch now? (A lookup whose next try would land after its reply can
    no longer be posted runs now, over the cap, rather than never.)"""
    if deps.inflight is None or not request.user_id:
        return Turn(None, priority_of(request, 0))
    admission = deps.inflight.enter(person(request), request.request_id)
    if admission.admitted:
        return Turn(None, priority_of(request, admission.others))
    if deps.clock() + admission.retry_in > request.deadline:
        return Turn(None, "bulk")
    log.info(
        "lookup %s: %d of the person's own lookups ahead; back in %.1f s",
        request.request_id,
        admission.ahead,
        admission.retry_in,
    )
    if attempt == 0:
        note = acks.simple(texts.queued_own.format(ahead=admission.ahead))
        deliver(deps, request, [note], final=False)
    return Turn(admission.retry_in)


def end_turn(request: LookupRequest, deps: Deps) -> None:
    """The lookup has stopped calling Ekuaibao: the person's next one may start."""
    if deps.inflight is not None and request.user_id:
        deps.inflight.leave(person(request), request.request_id)
