"""Pure assembly of what Ekuaibao returned into per-invoice summaries, in the asked order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Context, Decimal, localcontext
from typing import TYPE_CHECKING, Literal

from tasks.ekuaibao.models import Attachment, LineItem
from tasks.ekuaibao.risk import ReportRisk, RiskTag

if TYPE_CHECKING:
    from tasks.ekuaibao.client import InvoiceData
    from tasks.ekuaibao.masters import InvoiceMaster, ReportInfo

CENT = Decimal("0.01")
ZERO = Decimal(0)
#: Whether a reply carries Ekuaibao's risk flags: only report replies and review cards ask
#: (one call per report); "unavailable" when that call failed, which costs only the flags.
RiskFlags = Literal["not asked", "read", "unavailable"]


@dataclass(frozen=True)
class Totals:
    """None where no line gave a value: an unknown sum is not ¥0.00."""

    amount: Decimal | None
    tax: Decimal | None
    total: Decimal | None
    #: Lines whose amount or tax was missing, so left out of the sums.
    incomplete: int


@dataclass(frozen=True)
class InvoiceSummary:
    invoice_id: str
    lines: tuple[LineItem, ...]
    attachments: tuple[Attachment, ...]
    master: InvoiceMaster | None = None
    #: Ekuaibao's risk tags on this invoice (when the reply asked for them).
    risks: tuple[RiskTag, ...] = ()

    @property
    def amount_due(self) -> Decimal | None:
        """What the invoice is for: its own 价税合计 (or a ticket's amount), else the sum of
        its lines; None when neither is known."""
        if self.master is not None and self.master.total is not None:
            return self.master.total
        return self.totals.total if self.lines else None

    @property
    def totals(self) -> Totals:
        """Σ金额 + Σ税额 in exact Decimal; by VAT convention this equals 价税合计."""
        amounts = [line.amount for line in self.lines if line.amount is not None]
        taxes = [line.tax for line in self.lines if line.tax is not None]
        with localcontext(Context(prec=120)):  # exact for any amount, never silently rounded
            amount = sum(amounts, Decimal(0)) if amounts else None
            tax = sum(taxes, Decimal(0)) if taxes else None
            total = None if amount is None and tax is None else (amount or ZERO) + (tax or ZERO)
        incomplete = sum(1 for line in self.lines if line.amount is None or line.tax is None)
        return Totals(amount, tax, total, incomplete)


@dataclass(frozen=True)
class ReportPage:
    """Which report a reply shows, and where this page sits in it."""

    report: str
    info: ReportInfo | None
    #: Invoices in the whole report, the index of this page's first, and how many it shows.
    total: int
    first: int
    count: int
    page: int
    #: The submitter's name from the staff directory; None shows their staff id.
    submitter_name: str | None = None

    @property
    def has_more(self) -> bool:
        return self.first + self.count < self.total


@dataclass(frozen=True)
class LookupResult:
    requested: tuple[str, ...]
    invoices: tuple[InvoiceSummary, ...]
    not_found: tuple[str, ...]
    fetched_at: float
    report: ReportPage | None = field(default=None)
    #: Ids the person may not see are listed with the unknown ones, in words that do not
    #: tell which is which.
    hides_denials: bool = False
    risk_flags: RiskFlags = "not asked"
    #: Ekuaibao's counts over the whole report, when read.
    risk: ReportRisk | None = None

    @property
    def flagged(self) -> int:
        """Invoices shown with at least one risk tag."""
        return sum(1 for invoice in self.invoices if invoice.risks)

    @property
    def earliest_expiry(self) -> int | None:
        expiries = [a.expires_at for inv in self.invoices for a in inv.attachments]
        return min(expiries) if expiries else None


def assemble(
    requested: tuple[str, ...],
    data: InvoiceData,
    masters: Sequence[InvoiceMaster] = (),
    report: ReportPage | None = None,
) -> LookupResult:
    """Group lines by `masterId` and links by `id` (Ekuaibao's order is not ours).

    An id with no lines, no link and no master record is one Ekuaibao does not know.
    """
    lines: dict[str, list[LineItem]] = defaultdict(list)
    for line in data.lines:
        lines[line.invoice_id].append(line)
    links: dict[str, list[Attachment]] = defaultdict(list)
    for link in data.attachments:
        links[link.invoice_id].append(link)
    by_id = {master.invoice_id: master for master in masters}
    found: list[InvoiceSummary] = []
    missing: list[str] = []
    for invoice_id in requested:
        if invoice_id in lines or invoice_id in links or invoice_id in by_id:
            found.append(
                InvoiceSummary(
                    invoice_id,
                    tuple(lines[invoice_id]),
                    tuple(links[invoice_id]),
                    by_id.get(invoice_id),
                )
            )
        else:
            missing.append(invoice_id)
    return LookupResult(requested, tuple(found), tuple(missing), data.fetched_at, report)


def with_risk(result: LookupResult, risk: ReportRisk | None, *, read: bool) -> LookupResult:
    """The result with each invoice's tags; `read` False: the call failed (flags unknown),
    `risk` None after a read: Ekuaibao has no tags for the report."""
    if not read:
        return replace(result, risk_flags="unavailable")
    if risk is None:
        return replace(result, risk_flags="read")
    invoices = tuple(replace(inv, risks=risk.tags_for(inv.invoice_id)) for inv in result.invoices)
    return replace(result, invoices=invoices, risk_flags="read", risk=risk)
