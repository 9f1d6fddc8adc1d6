"""Fetching one reply's data from Ekuaibao: the independent calls made at the same time,
and a report's invoices fetched early when the report cache remembers them."""

from __future__ import annotations

import contextvars
import logging
import re
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from functools import partial
from typing import ParamSpec, TypeVar

from tasks.contracts import REPORT_PAGE_SIZE, LookupRequest
from tasks.ekuaibao.client import EkuaibaoClient, InvoiceData
from tasks.ekuaibao.errors import BadRequest
from tasks.ekuaibao.masters import LAYOUTS, InvoiceMaster, ReportInvoiceRef
from tasks.ekuaibao.models import Attachment, LineItem
from tasks.lookup.deps import Deps
from tasks.lookup.ticket_types import WAVES, TicketProbe, TypeMemory, ticket_shaped
from tasks.summary import LookupResult, ReportPage, assemble

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")
#: Report codes look like B23001249; anything else is tried as a report id first.
_REPORT_CODE = re.compile(r"^[A-Za-z]{1,3}\d{6,}$")


class ReportNotFound(Exception):
    pass


def _submit(pool: Executor, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
    """`pool.submit` that carries the lookup's context (whose Ekuaibao calls these are)."""
    context = contextvars.copy_context()
    return pool.submit(lambda: context.run(fn, *args, **kwargs))


@dataclass(frozen=True)
class _Selection:
    """The invoices one reply shows, with the §5 type of each (from the report search)."""

    ids: tuple[str, ...]
    types: dict[str, str]

    @classmethod
    def of_refs(cls, refs: list[ReportInvoiceRef]) -> _Selection:
        ids = tuple(dict.fromkeys(ref.invoice_id for ref in refs))
        return cls(ids, {ref.invoice_id: ref.invoice_type or "invoice" for ref in refs})


class _Fetch:
    """Lines, links and invoice masters of a selection, requested at the same time."""

    def __init__(
        self, deps: Deps, chosen: _Selection, *, links_here: bool, probe: TicketProbe | None = None
    ) -> None:
        client, pool = deps.client, deps.executor
        self.chosen = chosen
        self._probe = probe
        self.fetched_at = deps.clock()
        line_ids = [i for i in chosen.ids if chosen.types[i] == "invoice"]
        by_type: dict[str, list[str]] = defaultdict(list)
        for invoice_id in chosen.ids:
            by_type[chosen.types[invoice_id]].append(invoice_id)
        self._lines: Future[list[LineItem]] | None = (
            _submit(pool, client.line_items, line_ids) if line_ids else None
        )
        self._masters = [
            _submit(pool, client.invoice_masters, t, i) for t, i in by_type.items() if t in LAYOUTS
        ]
        for unknown in set(by_type) - set(LAYOUTS):  # e.g. a type newer than this bot
            log.warning("no invoice master search for unknown invoice type %r", unknown[:40])
        self._links: Future[list[Attachment]] | list[Attachment]
        if links_here:  # meanwhile, on this thread: one thread hand-off fewer
            self._links = client.attachments(chosen.ids, self.fetched_at)
        else:
            self._links = _submit(pool, client.attachments, chosen.ids, self.fetched_at)

    def result(self) -> tuple[InvoiceData, list[InvoiceMaster]]:
        lines = self._lines.result() if self._lines else []
        links = self._links if isinstance(self._links, list) else self._links.result()
        masters: list[InvoiceMaster] = []
        for future in self._masters:
            try:
                masters.extend(future.result())
            except BadRequest as exc:  # headers are a bonus; the lines and links still help
                log.warning("invoice master search refused: %s", exc)
        if self._probe is not None:
            masters.extend(self._probe.result())
        return InvoiceData(tuple(lines), tuple(links), self.fetched_at), masters


def fetch(request: LookupRequest, deps: Deps) -> LookupResult:
    """Everything for one reply, with the independent Ekuaibao calls made concurrently."""
    if request.report:
        return _fetch_report(request, deps)
    memory = TypeMemory(deps.reports)
    tickets = ticket_shaped(request.ids)
    known = memory.recall(tickets)
    chosen = _Selection(request.ids, {**dict.fromkeys(request.ids, "invoice"), **known})
    unknown = [i for i in tickets if i not in known]
    probe = (
        TicketProbe(deps.client.invoice_masters, partial(_submit, deps.executor), unknown, WAVES)
        if unknown
        else None
    )
    data, masters = _Fetch(deps, chosen, links_here=True, probe=probe).result()
    memory.remember({m.invoice_id: m.object_id for m in masters if m.invoice_id in unknown})
    return assemble(chosen.ids, data, masters)


def _fetch_report(request: LookupRequest, deps: Deps) -> LookupResult:
    """The report search, then its page of invoices; when the report was seen lately, the
    invoices it held then are fetched during the search and kept only if still the same."""
    first = request.page * REPORT_PAGE_SIZE
    early: _Fetch | None = None
    cached = _recall(deps, request.report)
    if cached is not None:
        search = _submit(deps.executor, _report_refs, deps.client, request.report)
        guess = _Selection.of_refs(cached[first : first + REPORT_PAGE_SIZE])
        early = _Fetch(deps, guess, links_here=False) if guess.ids else None
        refs = search.result()
    else:
        refs = _report_refs(deps.client, request.report)
    _remember(deps, request.report, refs)
    TypeMemory(deps.reports).remember_refs(refs)
    chosen_refs = refs[first : first + REPORT_PAGE_SIZE]
    chosen = _Selection.of_refs(chosen_refs)
    if early is not None and early.chosen == chosen:
        data, masters = early.result()
    else:
        data, masters = _Fetch(deps, chosen, links_here=True).result()
    info = next(
        (
            m.report
            for m in masters
            if m.report is not None and request.report in (m.report.code, m.report.flow_id)
        ),
        None,
    )
    page = ReportPage(
        request.report,
        info,
        len(refs),
        first,
        len(chosen_refs),
        request.page,
        _submitter_name(deps, info.submitter_id if info else None),
    )
    return assemble(chosen.ids, data, masters, page)


def _submitter_name(deps: Deps, staff_id: str | None) -> str | None:
    """The name, or None (the header then shows the id): a name is never worth a failure."""
    if not staff_id or deps.staff is None:
        return None
    try:
        staff = deps.staff([staff_id]).get(staff_id)
    except Exception as exc:
        log.warning("submitter name unavailable: %s", type(exc).__name__)
        return None
    return staff.name if staff is not None and staff.name else None


def _recall(deps: Deps, report: str) -> list[ReportInvoiceRef] | None:
    if deps.reports is None:
        return None
    try:
        return deps.reports.get(report)
    except Exception as exc:  # a speed-up only: without it, the lookup is just slower
        log.warning("report cache unavailable: %s", type(exc).__name__)
        return None


def _remember(deps: Deps, report: str, refs: list[ReportInvoiceRef]) -> None:
    if deps.reports is None:
        return
    try:
        deps.reports.put(report, refs)
    except Exception as exc:
        log.warning("report cache unavailable: %s", type(exc).__name__)


def _report_refs(client: EkuaibaoClient, report: str) -> list[ReportInvoiceRef]:
    kinds: tuple[str, str] = ("code", "id") if _REPORT_CODE.match(report) else ("id", "code")
    for kind in kinds:
        found = client.report_invoices(kind, [report])  # type: ignore[arg-type]
        if found.get(report):
            return found[report]
    raise ReportNotFound(report)
