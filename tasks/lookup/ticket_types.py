"""Which §5 type a ticket looked up by id is, for few Ekuaibao calls.

An id alone does not say its type, and the master search (§5) is per type. VAT invoices
have ids shaped `<corpId>:<代码>:<号码>` (or `<corpId>::<号码>`): only they have line items
and only the `invoice` search finds them, so an id of that shape is searched as `invoice`
and nothing else. Every other id is a ticket of one of eleven types, never sent to
`detailBatch` or the `invoice` search at first. The report search (§4) gives each
invoice's type in one call, but only for a known report, so the types a report search
returned are remembered per id (tasks/lookup/id_memory.py): a ticket seen lately costs only
its type's search. The others are probed in two waves: the four types this tenant's reports
showed most lately (the static FIRST_WAVE when none) at once, next to the links, then the
rest only for the ids still unknown, with `invoice` last in case a VAT invoice ever has an
id of another shape. The numbers behind this choice are in docs/benchmarks.md ("Ticket
types").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future

from tasks.ekuaibao.errors import BadRequest
from tasks.ekuaibao.masters import InvoiceMaster

log = logging.getLogger(__name__)

#: `<corpId>:<代码>:<号码>`, `<corpId>::<号码>`, with the undocumented `:2` suffix allowed.
_VAT_SHAPE = re.compile(r"^[^:]+:[^:]*:[^:]+(?::\d+)?$")
#: Most tickets in an expense report are rides and trips; probed first, at the same time.
FIRST_WAVE = ("taxi", "train", "flightItinerary", "other")
SECOND_WAVE = (
    "tolls",
    "machinePrint",
    "fixed",
    "passengerCar",
    "shopping",
    "medical",
    "noTaxIncome",
)
#: Searched with the second wave: a VAT invoice whose id has an unexpected shape still
#: gets its header (and then its lines), for one call on lookups that reach that wave.
LAST_RESORT = "invoice"
TICKET_TYPES = (*FIRST_WAVE, *SECOND_WAVE)
WAVES = (FIRST_WAVE, (*SECOND_WAVE, LAST_RESORT))

Search = Callable[[str, Sequence[str]], list[InvoiceMaster]]
Submit = Callable[..., Future[list[InvoiceMaster]]]


def ticket_shaped(invoice_ids: Iterable[str]) -> list[str]:
    """The ids that cannot be VAT invoices, so are tickets of some other §5 type."""
    return [i for i in invoice_ids if not _VAT_SHAPE.match(i)]


def waves_for(seen: Mapping[str, int]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The two waves for a tenant whose recent report searches showed `seen` tickets per
    type: the most frequent types first (ties and unseen types in the static order), as
    many in the first wave as FIRST_WAVE has, so the calls per wave stay the same."""
    ranked = sorted(TICKET_TYPES, key=lambda t: (-seen.get(t, 0), TICKET_TYPES.index(t)))
    size = len(FIRST_WAVE)
    return tuple(ranked[:size]), (*ranked[size:], LAST_RESORT)


class MasterSearch:
    """The master searches of one selection: one per type it knows, and the waves that find
    the type (and so the header) of its ids of unknown type.

    The known types and the first wave start at once, sharing a call where a type is in
    both; `result()` runs the next waves on the caller's thread, only for
    ids not found yet. `refused` says a search was refused, so "not found" is unsure.
    """

    def __init__(
        self,
        search: Search,
        submit: Submit,
        known: Mapping[str, Sequence[str]],
        unknown: Sequence[str] = (),
        waves: Sequence[Sequence[str]] = WAVES,
    ) -> None:
        self._search, self._submit = search, submit
        self._left = list(dict.fromkeys(unknown))
        self._waves = list(waves)
        self.refused = False
        self._asked: dict[str, set[str]] = {}
        self._pending = self._start(known)

    def _start(self, known: Mapping[str, Sequence[str]]) -> list[Future[list[InvoiceMaster]]]:
        """This round's searches. The ids left ride along in a search made anyway for a
        type of a later wave (no call added), and no id is searched twice for one type."""
        plan = {object_id: list(dict.fromkeys(ids)) for object_id, ids in known.items() if ids}
        wave = self._waves.pop(0) if self._waves and self._left else ()
        later = {object_id for w in self._waves for object_id in w}
        for object_id in (*wave, *(t for t in list(plan) if t in later)):
            ids = plan.setdefault(object_id, [])
            asked = self._asked.setdefault(object_id, set())
            ids.extend(i for i in self._left if i not in ids and i not in asked)
        plan = {object_id: ids for object_id, ids in plan.items() if ids}
        for object_id, ids in plan.items():
            self._asked.setdefault(object_id, set()).update(ids)
        return [self._submit(self._search, object_id, ids) for object_id, ids in plan.items()]

    def result(self) -> list[InvoiceMaster]:
        found: list[InvoiceMaster] = []
        while self._pending:
            for future in self._pending:
                try:
                    found.extend(future.result())
                except BadRequest as exc:  # e.g. a type this tenant does not have
                    self.refused = True
                    log.warning("invoice master search refused: %s", exc)
            seen = {m.invoice_id for m in found}
            self._left = [i for i in self._left if i not in seen]
            self._pending = self._start({}) if self._left else []
        return found


__all__ = [
    "FIRST_WAVE",
    "LAST_RESORT",
    "SECOND_WAVE",
    "TICKET_TYPES",
    "WAVES",
    "MasterSearch",
    "ticket_shaped",
    "waves_for",
]
