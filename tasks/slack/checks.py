""" "Does it add up": the checks an approver looks for first, over a report's invoices.

Shared by the review card (tasks/slack/review_card.py) and the `/invoice report` header, so both
count and word them alike. Pure: the invoices are already fetched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from tasks.ekuaibao.risk import ReportRisk
from tasks.shared.blocks import Block, money, section
from tasks.shared.review_texts import ReviewTexts, review_texts_for
from tasks.shared.texts import ZH, Texts
from tasks.slack import headers
from tasks.summary import InvoiceSummary, LookupResult, ReportPage, RiskFlags

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Checks:
    """What an approver looks for first, over all the report's invoices."""

    invoices_sum: Decimal | None
    unverified: int
    mismatched: int
    used_elsewhere: int
    #: Invoices carrying an Ekuaibao risk tag, whether the tags were read, and Ekuaibao's
    #: own compliance counts for the report.
    flagged: int = 0
    risk_flags: RiskFlags = "not asked"
    risk: ReportRisk | None = None

    @classmethod
    def of(
        cls,
        flow_id: str,
        invoices: Sequence[InvoiceSummary],
        texts: Texts,
        result: LookupResult | None = None,
    ) -> Checks:
        """Σ价税合计 (the lines' total where no master says it) and the three counts; an
        invoice whose master names another report is used elsewhere. `result`: the reply
        the invoices come from, for its risk flags."""
        total, counted = Decimal(0), 0
        unverified = mismatched = used = 0
        for invoice in invoices:
            master = invoice.master
            value = invoice.amount_due
            if value is not None:
                total += value
                counted += 1
            if master is None:
                continue
            if master.verified is False:
                unverified += 1
            if invoice.lines and headers.mismatch_warning(master, invoice.totals.total, texts):
                mismatched += 1
            if flow_id and master.report and master.report.flow_id not in (None, flow_id):
                used += 1
        return cls(
            total if counted else None,
            unverified,
            mismatched,
            used,
            flagged=result.flagged if result is not None else 0,
            risk_flags=result.risk_flags if result is not None else "not asked",
            risk=result.risk if result is not None else None,
        )


def checks_text(checks: Checks, expense_total: Decimal | None, review: ReviewTexts) -> str:
    """Two lines: the sum against the expense total, then the counts (or all clear)."""
    if checks.invoices_sum is None or expense_total is None:
        adds_up = review.no_invoice_totals
    elif abs(checks.invoices_sum - expense_total) <= _CENT:
        adds_up = review.adds_up
    else:
        adds_up = review.does_not_add_up.format(
            sum=money(checks.invoices_sum),
            difference=money(abs(checks.invoices_sum - expense_total)),
        )
    if checks.unverified or checks.mismatched or checks.used_elsewhere:
        counts = review.checks.format(
            unverified=checks.unverified, mismatched=checks.mismatched, used=checks.used_elsewhere
        )
    else:
        counts = review.checks_clean
    risk = _risk_text(checks, review)
    return f"{adds_up}\n{counts}" + (f"\n{risk}" if risk else "")


def _risk_text(checks: Checks, review: ReviewTexts) -> str | None:
    """The flags' line: how many are flagged (with Ekuaibao's counts), none, or unread."""
    if checks.risk_flags == "unavailable":
        return review.risk_unavailable
    if checks.risk_flags == "not asked":
        return None
    if not checks.flagged:
        return review.risk_clear
    text = review.risk_flagged.format(count=checks.flagged)
    risk = checks.risk
    if risk is not None and risk.non_compliant and risk.invoice_total:
        text += review.risk_counts.format(
            non_compliant=risk.non_compliant, total=risk.invoice_total
        )
    return text


def report_checks_blocks(
    page: ReportPage,
    invoices: Sequence[InvoiceSummary],
    texts: Texts,
    result: LookupResult | None = None,
) -> list[Block]:
    """The report reply's add-up line. A page that shows only part of the report compares
    nothing with the expense total (the rest is unseen) and says whose sum it is."""
    if page.total == 0:
        return []
    info = page.info
    checks = Checks.of((info.flow_id or "") if info else "", invoices, texts, result)
    review = review_texts_for("zh" if texts is ZH else "en")
    if page.count < page.total:
        part = texts.report_sum_page.format(
            sum=money(checks.invoices_sum) if checks.invoices_sum is not None else "—"
        )
        counts = checks_text(checks, None, review).split("\n", 1)[1]  # counts and flags
        return [section(f"{part}\n{counts}")]
    expense = info.expense_total if info else None
    return [section(checks_text(checks, expense, review))]


__all__ = ["Checks", "checks_text", "report_checks_blocks"]
