"""Remembering an answered lookup for the asker's App Home tab ("Recent lookups")."""

from __future__ import annotations

import logging

from tasks.contracts import LookupRequest
from tasks.lookup.deps import Deps
from tasks.state.recent import RecentLookup
from tasks.summary import LookupResult

log = logging.getLogger(__name__)


def remember(deps: Deps, request: LookupRequest, result: LookupResult) -> None:
    """Ids, the report code, counts and when: nothing else. A store that fails costs the
    Home tab one line, never the answer already given."""
    if deps.recent is None or not request.user_id:
        return
    entry = RecentLookup(
        ids=tuple(request.ids),
        report=request.report,
        at=deps.clock(),
        found=len(result.invoices),
        not_found=len(result.not_found),
    )
    try:
        deps.recent.add(request.team_id, request.user_id, entry)
    except Exception as exc:
        log.warning(
            "lookup %s: not kept for the Home tab: %s", request.request_id, type(exc).__name__
        )
