"""What a review card shows, fetched: names and the report's invoices at the same time."""

from __future__ import annotations

from typing import Any

from tasks.ekuaibao.approval_models import Flow, Stage
from tasks.lookup.fetching import fetch_refs
from tasks.lookup.risk_flags import risk_of
from tasks.review.deps import ReviewDeps
from tasks.shared.texts import texts_for
from tasks.slack import review_card as card
from tasks.summary import LookupResult, assemble, with_risk


def card_view(deps: ReviewDeps, flow: Flow, stage: Stage) -> card.ReviewView:
    """Names, risk flags and invoices at the same time: two more Ekuaibao round trips."""
    names = deps.submit(_names, deps, flow)
    invoices = flow_invoices(deps, flow)
    submitter, department, template = names.result()
    texts = texts_for("en")
    return card.ReviewView(
        flow,
        stage,
        submitter,
        department,
        template,
        invoices,
        card.Checks.of(flow.flow_id, invoices.invoices, texts, invoices),
        pictures=deps.lookup.previews != "off",
        previews=deps.lookup.previews == "all",
    )


def _names(deps: ReviewDeps, flow: Flow) -> tuple[str, str | None, str | None]:
    department = deps.submit(deps.api.department_name, flow.department_id)
    template = deps.submit(deps.api.template_name, flow.specification_id)
    staff = deps.api.staff([flow.submitter_id]).get(flow.submitter_id)
    submitter = staff.name if staff and staff.name else flow.submitter_id.split(":", 1)[-1]
    return submitter, department.result(), template.result()


def flow_invoices(deps: ReviewDeps, flow: Flow) -> LookupResult:
    """Every invoice of the report (the §4 search gives each one's type), fetched by the
    lookup's own code: lines, fresh links and masters at once, with Ekuaibao's risk flags
    read meanwhile."""
    risk = deps.submit(risk_of, deps.lookup, flow.flow_id)
    refs = deps.lookup.client.report_invoices("id", [flow.flow_id]).get(flow.flow_id, [])
    invoices = fetch_refs(deps.lookup, refs) if refs else assemble((), _empty(deps), ())
    tags, read = risk.result()
    return with_risk(invoices, tags, read=read)


def _empty(deps: ReviewDeps) -> Any:
    from tasks.ekuaibao.client import InvoiceData

    return InvoiceData((), (), deps.clock())
