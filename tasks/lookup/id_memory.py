"""What lookups learnt about invoice ids, so the next lookup of an id spends fewer calls.

Kept in the report cache (shared by every worker on Redis, per tenant), one entry per id:

* its §5 type, from a report search or a master search (30 min): a ticket seen lately
  costs only its type's search instead of the probe waves;
* that it matched nothing (MISS_TTL_S): an id no call found (a typo, a deleted ticket) is
  not probed again for a while. The lookup still asks for its links, as it does for every
  id, and an id whose links come back exists after all and is probed then
  (tasks/lookup/fetching.py), so a remembered miss is never reported wrongly while
  Ekuaibao has a file for it. A report search that lists the id replaces the miss with its
  type. A remembered miss is not renewed by asking again, so an invoice entered later
  without a file is found at most MISS_TTL_S after.

And the tickets the tenant's report searches showed lately (TICKETS_TTL_S), whose types
order the probe waves (tasks/lookup/ticket_types.waves_for).

All of it is a speed-up: when the cache fails, the lookup makes the calls it saves.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tasks.ekuaibao.masters import LAYOUTS, ReportInvoiceRef
from tasks.lookup.ticket_types import LAST_RESORT
from tasks.state.report_cache import TTL_S, ReportCache

log = logging.getLogger(__name__)

#: How long "matched nothing" holds: a typo asked again, a ticket deleted a moment ago.
MISS_TTL_S = 10 * 60
#: The recent tickets behind the probe order: about a working day's report searches.
TICKETS_TTL_S = 24 * 60 * 60
#: Recent tickets kept (newest first), enough to rank eleven types.
RECENT_TICKETS = 200
_PREFIX = "type:"
_RECENT_KEY = "tickets:recent"
#: The marker stored as an id's type when it matched nothing (never a §5 objectId).
_MISS = "-"


@dataclass(frozen=True)
class Recalled:
    types: dict[str, str] = field(default_factory=dict)
    misses: frozenset[str] = frozenset()


class IdMemory:
    def __init__(self, cache: ReportCache | None) -> None:
        self._cache = cache

    def recall(self, invoice_ids: Sequence[str]) -> Recalled:
        if self._cache is None or not invoice_ids:
            return Recalled()
        try:
            entries = self._cache.get_many([_PREFIX + i for i in invoice_ids])
        except Exception as exc:  # a speed-up only: without it, the probe decides
            log.warning("invoice id memory unavailable: %s", type(exc).__name__)
            return Recalled()
        types: dict[str, str] = {}
        misses: set[str] = set()
        for invoice_id in invoice_ids:
            refs = entries.get(_PREFIX + invoice_id)
            kind = refs[0].invoice_type if refs else None
            if kind == _MISS:
                misses.add(invoice_id)
            elif kind:
                types[invoice_id] = kind
        return Recalled(types, frozenset(misses))

    def remember(self, types: dict[str, str]) -> None:
        """Types by id; a type that is not a §5 objectId (none: a report's ticket before
        Ekuaibao 2.0; or garbage) only clears a remembered miss."""
        self._put({i: t if t in LAYOUTS else "" for i, t in types.items()}, TTL_S)

    def remember_misses(self, invoice_ids: Iterable[str]) -> None:
        self._put(dict.fromkeys(invoice_ids, _MISS), MISS_TTL_S)

    def remember_refs(self, refs: Sequence[ReportInvoiceRef]) -> None:
        """A report's invoices: their types (a miss of one of them is forgotten), and its
        tickets as the latest of the tenant's recent ones."""
        self.remember({r.invoice_id: r.invoice_type or "" for r in refs})
        tickets = [r for r in refs if r.invoice_type in LAYOUTS and r.invoice_type != LAST_RESORT]
        if not tickets or self._cache is None:
            return
        try:  # read-modify-write: a concurrent report search may win; the order is a guess
            old = self._cache.get(_RECENT_KEY) or []
            new_ids = {r.invoice_id for r in tickets}
            recent = [*tickets, *(r for r in old if r.invoice_id not in new_ids)]
            self._cache.put(_RECENT_KEY, recent[:RECENT_TICKETS], TICKETS_TTL_S)
        except Exception as exc:
            log.warning("invoice id memory unavailable: %s", type(exc).__name__)

    def recent_types(self) -> Counter[str]:
        """How many of the tenant's recent tickets were of each type."""
        if self._cache is None:
            return Counter()
        try:
            recent = self._cache.get(_RECENT_KEY) or []
        except Exception as exc:
            log.warning("invoice id memory unavailable: %s", type(exc).__name__)
            return Counter()
        return Counter(r.invoice_type for r in recent if r.invoice_type)

    def _put(self, types: dict[str, str], ttl_s: float) -> None:
        if self._cache is None or not types:
            return
        entries = {
            _PREFIX + invoice_id: [
                ReportInvoiceRef(invoice_id=invoice_id, item_ids=(), invoice_type=t)
            ]
            for invoice_id, t in types.items()
        }
        try:
            self._cache.put_many(entries, ttl_s)
        except Exception as exc:
            log.warning("invoice id memory unavailable: %s", type(exc).__name__)


__all__ = ["MISS_TTL_S", "RECENT_TICKETS", "TICKETS_TTL_S", "IdMemory", "Recalled"]
