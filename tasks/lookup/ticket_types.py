"""Which §5 type a ticket looked up by id is, for few Ekuaibao calls.

An id alone does not say its type, and the master search (§5) is per type. VAT invoices
have ids shaped `<corpId>:<代码>:<号码>` (or `<corpId>::<号码>`) and are found by the
`invoice` search the lookup makes anyway; every other id is a ticket of one of eleven
types. The report search (§4) gives each invoice's type in one call, but only for a
known report, so the types a report search returned are remembered per id (with those the
probe found): a ticket seen lately costs no call. The others are probed in two waves: the
common ticket types at once, then the rest only for the ids still unknown. The numbers
behind this choice are in docs/benchmarks.md ("Ticket types").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future

from tasks.ekuaibao.errors import BadRequest
from tasks.ekuaibao.masters import InvoiceMaster, ReportInvoiceRef
from tasks.state.report_cache import ReportCache

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
WAVES = (FIRST_WAVE, SECOND_WAVE)
#: Key prefix in the report cache: a type never changes, the cache's TTL keeps it small.
_PREFIX = "type:"

Search = Callable[[str, Sequence[str]], list[InvoiceMaster]]
Submit = Callable[..., Future[list[InvoiceMaster]]]


def ticket_shaped(invoice_ids: Iterable[str]) -> list[str]:
    """The ids that cannot be VAT invoices, so are tickets of some other §5 type."""
    return [i for i in invoice_ids if not _VAT_SHAPE.match(i)]


class TypeMemory:
    """Types seen lately per id, kept in the report cache (shared by workers on Redis)."""

    def __init__(self, cache: ReportCache | None) -> None:
        self._cache = cache

    def recall(self, invoice_ids: Sequence[str]) -> dict[str, str]:
        known: dict[str, str] = {}
        if self._cache is None:
            return known
        try:
            for invoice_id in invoice_ids:
                refs = self._cache.get(_PREFIX + invoice_id)
                if refs and refs[0].invoice_type:
                    known[invoice_id] = refs[0].invoice_type
        except Exception as exc:  # a speed-up only: without it, the probe decides
            log.warning("ticket type memory unavailable: %s", type(exc).__name__)
        return known

    def remember(self, types: dict[str, str]) -> None:
        if self._cache is None:
            return
        try:
            for invoice_id, object_id in types.items():
                ref = ReportInvoiceRef(invoice_id=invoice_id, item_ids=(), invoice_type=object_id)
                self._cache.put(_PREFIX + invoice_id, [ref])
        except Exception as exc:
            log.warning("ticket type memory unavailable: %s", type(exc).__name__)

    def remember_refs(self, refs: Iterable[ReportInvoiceRef]) -> None:
        """A report's tickets (not its VAT invoices, which need no probe)."""
        self.remember(
            {r.invoice_id: r.invoice_type for r in refs if r.invoice_type not in (None, "invoice")}
        )


class TicketProbe:
    """The master searches that find the type (and so the header) of ticket-shaped ids.

    The first wave starts at once, next to the lookup's other calls; `result()` runs the
    second wave on the caller's thread, only for ids the first did not find.
    """

    def __init__(
        self, search: Search, submit: Submit, ids: Sequence[str], waves: Sequence[Sequence[str]]
    ) -> None:
        self._search, self._submit = search, submit
        self._left = list(dict.fromkeys(ids))
        self._waves = list(waves)
        self._pending = self._start() if self._left else []

    def _start(self) -> list[Future[list[InvoiceMaster]]]:
        wave = self._waves.pop(0) if self._waves else ()
        return [self._submit(self._search, object_id, list(self._left)) for object_id in wave]

    def result(self) -> list[InvoiceMaster]:
        found: list[InvoiceMaster] = []
        while self._pending:
            for future in self._pending:
                try:
                    found.extend(future.result())
                except BadRequest as exc:  # e.g. a type this tenant does not have
                    log.warning("ticket master search refused: %s", exc)
            seen = {m.invoice_id for m in found}
            self._left = [i for i in self._left if i not in seen]
            self._pending = self._start() if self._left else []
        return found


__all__ = ["FIRST_WAVE", "SECOND_WAVE", "WAVES", "TicketProbe", "TypeMemory", "ticket_shaped"]
