"""Ekuaibao's risk flags for one report reply or review card: asked once, and never worth a
failed reply."""

from __future__ import annotations

import logging

from tasks.ekuaibao import session
from tasks.ekuaibao.risk import ReportRisk
from tasks.lookup.deps import Deps

log = logging.getLogger(__name__)
#: How long a failing risk-flags call is repeated: a couple of tries, then the reply goes
#: without the flags.
RISK_REPEATS_S = 1.0


def risk_of(deps: Deps, flow_id: str) -> tuple[ReportRisk | None, bool]:
    """(the report's risk tags, None when it has none; whether they could be read). The
    flags are an addition: their failure costs the flags, never the reply, and a failing
    call is repeated for RISK_REPEATS_S only, not for as long as the lookup's own calls."""
    until = deps.clock() + RISK_REPEATS_S
    lookup_until = session.retry_until.get()
    token = session.retry_until.set(until if lookup_until is None else min(until, lookup_until))
    try:
        return deps.client.risk_labels([flow_id]).get(flow_id), True
    except Exception as exc:
        log.warning("risk flags of report %s unavailable: %s", flow_id, type(exc).__name__)
        return None, False
    finally:
        session.retry_until.reset(token)
