"""Pure assembly of what Ekuaibao returned into per-invoice summaries, in the asked order."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from tasks.ekuaibao.client import InvoiceData
from tasks.ekuaibao.models import Attachment, LineItem

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Totals:
    amount: Decimal
    tax: Decimal
    total: Decimal
    #: Lines whose amount or tax was missing, so left out of the sums.
    incomplete: int


@dataclass(frozen=True)
class InvoiceSummary:
    invoice_id: str
    lines: tuple[LineItem, ...]
    attachments: tuple[Attachment, ...]

    @property
    def totals(self) -> Totals:
        """Σ金额 + Σ税额 in exact Decimal; by VAT convention this equals 价税合计."""
        amount = sum((line.amount for line in self.lines if line.amount is not None), Decimal(0))
        tax = sum((line.tax for line in self.lines if line.tax is not None), Decimal(0))
        incomplete = sum(1 for line in self.lines if line.amount is None or line.tax is None)
        return Totals(amount, tax, amount + tax, incomplete)


@dataclass(frozen=True)
class LookupResult:
    requested: tuple[str, ...]
    invoices: tuple[InvoiceSummary, ...]
    not_found: tuple[str, ...]
    fetched_at: float

    @property
    def earliest_expiry(self) -> int | None:
        expiries = [a.expires_at for inv in self.invoices for a in inv.attachments]
        return min(expiries) if expiries else None


def assemble(requested: tuple[str, ...], data: InvoiceData) -> LookupResult:
    """Group lines by `masterId` and links by `id` (Ekuaibao's order is not ours).

    An id with neither lines nor a link is one Ekuaibao does not know.
    """
    lines: dict[str, list[LineItem]] = defaultdict(list)
    for line in data.lines:
        lines[line.invoice_id].append(line)
    links: dict[str, list[Attachment]] = defaultdict(list)
    for link in data.attachments:
        links[link.invoice_id].append(link)
    found: list[InvoiceSummary] = []
    missing: list[str] = []
    for invoice_id in requested:
        if invoice_id in lines or invoice_id in links:
            found.append(
                InvoiceSummary(invoice_id, tuple(lines[invoice_id]), tuple(links[invoice_id]))
            )
        else:
            missing.append(invoice_id)
    return LookupResult(requested, tuple(found), tuple(missing), data.fetched_at)
