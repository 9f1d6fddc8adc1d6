"""Fetching one reply's data from Ekuaibao: the independent calls made at the same time,
a report's invoices fetched early when the report cache remembers them, and no call whose
answer the lookup has or the id memory (tasks/lookup/id_memory.py) already knows."""

from __future__ import annotations

import contextvars
import dataclasses
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from functools import partial
from typing import Literal, ParamSpec, TypeVar

from tasks.contracts import REPORT_PAGE_SIZE, LookupRequest
from tasks.ekuaibao.client import EkuaibaoClient, InvoiceData
from tasks.ekuaibao.masters import LAYOUTS, InvoiceMaster, ReportInvoiceRef
from tasks.ekuaibao.models import Attachment, LineItem
from tasks.lookup.deps import Deps
from tasks.lookup.id_memory import IdMemory, Recalled
from tasks.lookup.risk_flags import risk_of
from tasks.lookup.ticket_types import (
    LAST_RESORT,
    WAVES,
    MasterSearch,
    ticket_shaped,
    waves_for,
)
from tasks.summary import LookupResult, ReportPage, assemble, with_risk

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
    """The invoices one reply shows: the §5 type of those whose type is known, and those
    whose type the master searches probe for. An id in neither (a remembered miss) is only
    asked for its links."""

    ids: tuple[str, ...]
    types: dict[str, str]
    unknown: tuple[str, ...] = ()

    @classmethod
    def of_refs(cls, refs: list[ReportInvoiceRef]) -> _Selection:
        ids = tuple(dict.fromkeys(ref.invoice_id for ref in refs))
        types = {r.invoice_id: r.invoice_type or _shape_type(r.invoice_id) for r in refs}
        return cls._of(ids, types)

    @classmethod
    def of_ids(cls, ids: Sequence[str], recalled: Recalled) -> _Selection:
        chosen = tuple(i for i in dict.fromkeys(ids) if i not in recalled.misses)
        types = {i: _shape_type(i) or recalled.types.get(i) for i in chosen}
        return cls._of(tuple(dict.fromkeys(ids)), types)

    @classmethod
    def _of(cls, ids: tuple[str, ...], types: Mapping[str, str | None]) -> _Selection:
        known = {i: t for i, t in types.items() if t}
        return cls(ids, known, tuple(i for i in types if not types[i]))


def _shape_type(invoice_id: str) -> str | None:
    """`invoice` for a VAT-shaped id; None (probe it) for a ticket's."""
    return None if ticket_shaped([invoice_id]) else LAST_RESORT


class _Fetch:
    """Lines, links and invoice masters of a selection, requested at the same time."""

    def __init__(
        self,
        deps: Deps,
        chosen: _Selection,
        *,
        links: Literal["here", "pool", "none"],
        waves: Sequence[Sequence[str]] = WAVES,
    ) -> None:
        client, pool = deps.client, deps.executor
        self.chosen = chosen
        self._client = client
        self.fetched_at = deps.clock()
        line_ids = [i for i in chosen.ids if chosen.types.get(i) == LAST_RESORT]
        by_type: dict[str, list[str]] = defaultdict(list)
        for invoice_id, object_id in chosen.types.items():
            by_type[object_id].append(invoice_id)
        for unknown in set(by_type) - set(LAYOUTS):  # e.g. a type newer than this bot
            log.warning("no invoice master search for unknown invoice type %r", unknown[:40])
            del by_type[unknown]
        self._lines: Future[list[LineItem]] | None = (
            _submit(pool, client.line_items, line_ids) if line_ids else None
        )
        self.search = MasterSearch(
            client.invoice_masters, partial(_submit, pool), by_type, chosen.unknown, waves
        )
        self._links: Future[list[Attachment]] | list[Attachment]
        if not chosen.ids or links == "none":
            self._links = []
        elif links == "here":  # meanwhile, on this thread: one thread hand-off fewer
            self._links = client.attachments(chosen.ids, self.fetched_at)
        else:
            self._links = _submit(pool, client.attachments, chosen.ids, self.fetched_at)

    def rest_of(self, page: _Selection) -> _Selection:
        """The ids of `page` this fetch did not ask for (or asked for as another type)."""
        mine = set(self.chosen.ids)
        rest = [
            i for i in page.ids if i not in mine or page.types.get(i) != self.chosen.types.get(i)
        ]
        return _Selection._of(tuple(rest), {i: page.types.get(i) for i in rest})

    def result(self) -> tuple[InvoiceData, list[InvoiceMaster]]:
        lines = self._lines.result() if self._lines else []
        links = self._links if isinstance(self._links, list) else self._links.result()
        masters = self.search.result()
        probed = set(self.chosen.unknown)
        late = [
            m.invoice_id for m in masters if m.object_id == LAST_RESORT and m.invoice_id in probed
        ]
        if late:  # a VAT invoice whose id did not look like one: its lines, now
            lines = [*lines, *self._client.line_items(late)]
        return InvoiceData(tuple(lines), tuple(links), self.fetched_at), masters


def fetch(request: LookupRequest, deps: Deps) -> LookupResult:
    """Everything for one reply, with the independent Ekuaibao calls made concurrently."""
    if request.report:
        return _fetch_report(request, deps)
    memory = IdMemory(deps.reports)
    recalled = memory.recall(tuple(dict.fromkeys(request.ids)))
    chosen = _Selection.of_ids(request.ids, recalled)
    waves = waves_for(memory.recent_types()) if chosen.unknown else WAVES
    fetched = _Fetch(deps, chosen, links="here", waves=waves)
    data, masters = fetched.result()
    searches = [fetched.search]
    with_links = {link.invoice_id for link in data.attachments}
    revived = [i for i in chosen.ids if i in recalled.misses and i in with_links]
    if revived:  # a remembered miss that has a file now: it exists, so probe it after all
        again = _Fetch(deps, _Selection.of_ids(revived, Recalled()), links="none", waves=waves)
        more, more_masters = again.result()
        data = dataclasses.replace(data, lines=data.lines + more.lines)
        masters = [*masters, *more_masters]
        searches.append(again.search)
    result = assemble(request.ids, data, masters)
    probed = {*chosen.unknown, *revived}
    learnt = {m.invoice_id: m.object_id for m in masters if m.invoice_id in probed}
    memory.remember(dict.fromkeys(revived, "") | learnt)
    if not any(s.refused for s in searches):  # a refused search leaves "not found" unsure
        memory.remember_misses(i for i in result.not_found if i not in recalled.misses)
    return result


def fetch_refs(deps: Deps, refs: list[ReportInvoiceRef]) -> LookupResult:
    """The invoices of a report search's answer, by the lookup's own code; the types are
    remembered as a lookup's report search would."""
    chosen = _Selection.of_refs(refs)
    fetched = _Fetch(deps, chosen, links="here")
    IdMemory(deps.reports).remember_refs(refs)
    data, masters = fetched.result()
    return assemble(chosen.ids, data, masters)


def _fetch_report(request: LookupRequest, deps: Deps) -> LookupResult:
    """The report search, then its page of invoices; when the report was seen lately, the
    invoices it held then are fetched during the search: those the page still holds are
    kept, and only the others are fetched after it (none when just the order changed)."""
    first = request.page * REPORT_PAGE_SIZE
    early: _Fetch | None = None
    # A report id (not a code) is the flow id the flags are asked by: ask at once.
    by_id = not _REPORT_CODE.match(request.report)
    risk = _submit(deps.executor, risk_of, deps, request.report) if by_id else None
    cached = _recall(deps, request.report)
    if cached is not None:
        search = _submit(deps.executor, _report_refs, deps.client, request.report)
        guess = _Selection.of_refs(cached[first : first + REPORT_PAGE_SIZE])
        early = _Fetch(deps, guess, links="pool") if guess.ids else None
        refs = search.result()
    else:
        refs = _report_refs(deps.client, request.report)
    chosen_refs = refs[first : first + REPORT_PAGE_SIZE]
    chosen = _Selection.of_refs(chosen_refs)
    if early is None:
        early = _Fetch(deps, chosen, links="here")
    others = early.rest_of(chosen)
    rest = _Fetch(deps, others, links="here") if others.ids else None
    _remember(deps, request.report, refs)  # while the page's calls are out
    IdMemory(deps.reports).remember_refs(refs)
    data, masters = early.result()
    if rest is not None:  # the page changed: what it still has, and the rest fetched now
        kept = set(chosen.ids) - set(rest.chosen.ids)
        data, masters = _merged(kept, (data, masters), rest.result())
    info = next(
        (
            m.report
            for m in masters
            if m.report is not None and request.report in (m.report.code, m.report.flow_id)
        ),
        None,
    )
    flow_id = info.flow_id if info is not None and info.flow_id else None
    if risk is None or flow_id not in (None, request.report):  # a code, or not that id
        risk = _submit(deps.executor, risk_of, deps, flow_id) if flow_id else None
    page = ReportPage(
        request.report,
        info,
        len(refs),
        first,
        len(chosen_refs),
        request.page,
        _submitter_name(deps, info.submitter_id if info else None),
    )
    result = assemble(chosen.ids, data, masters, page)
    if risk is None:  # no invoice named its report: nothing to ask the flags by
        return result
    tags, read = risk.result()
    return with_risk(result, tags, read=read)


def _merged(
    kept: set[str],
    early: tuple[InvoiceData, list[InvoiceMaster]],
    rest: tuple[InvoiceData, list[InvoiceMaster]],
) -> tuple[InvoiceData, list[InvoiceMaster]]:
    """The early answers for the `kept` ids, and the rest's; the links' time is the
    earliest, so no link is thought fresher than it is."""
    (data, masters), (more, more_masters) = early, rest
    lines = [*(x for x in data.lines if x.invoice_id in kept), *more.lines]
    links = [*(a for a in data.attachments if a.invoice_id in kept), *more.attachments]
    found = [*(m for m in masters if m.invoice_id in kept), *more_masters]
    at = min(data.fetched_at, more.fetched_at)
    return InvoiceData(tuple(lines), tuple(links), at), found


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
