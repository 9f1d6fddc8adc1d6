"""What an approver is told about one invoice, once, for both layouts of the card.

This is the one place to add an invoice field: a fact here is shown by the full card (as a
field, a summary item or a warning) and by the compact one (in its running text), and
`tests/unit/tasks/slack/test_card_facts.py` fails if either layout leaves one out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tasks.ekuaibao.risk import RiskTag
from tasks.shared.blocks import money, neutral
from tasks.shared.card_texts import CardTexts, card_texts
from tasks.shared.texts import Texts
from tasks.slack import headers
from tasks.summary import InvoiceSummary

#: summary: the first line of a card (seller · 价税合计 · date · 验真); detail: the rest of
#: the header; warning: what must not be missed.
Kind = Literal["summary", "detail", "warning"]
#: Caps on Ekuaibao's text: long enough for any real value, short enough that one absurd
#: value cannot push the rest of the card out of the message. Cut text ends in "…", and
#: the card says once that something was cut.
CAPS = {"seller": 200, "buyer": 200, "code_number": 100, "remarks": 300}
DEFAULT_CAP = 60
MAX_NAME = 300
MAX_SPEC = 120
MAX_TAX_RATE = 20
#: A risk tag's own name, and how many tags one invoice shows.
MAX_TAG_NAME = 80
MAX_TAGS = 5


def bare(label: str) -> str:
    """A label of the catalogue without its mrkdwn bold, for plain_text."""
    return label.strip("*")


@dataclass(frozen=True)
class Fact:
    key: str
    kind: Kind
    label: str
    #: Ekuaibao's own text, raw: each layout makes it safe for where it goes.
    value: str
    #: Words of ours (a date, an amount, a verdict): safe anywhere as they are.
    ours: bool = False

    @property
    def cap(self) -> int:
        return CAPS.get(self.key, DEFAULT_CAP)


def invoice_facts(invoice: InvoiceSummary, texts: Texts) -> list[Fact]:
    master = invoice.master
    facts: list[Fact] = []
    if master is not None:
        if master.seller:
            facts.append(Fact("seller", "summary", bare(texts.header_seller), master.seller))
        if master.total is not None:
            label = texts.header_total if master.object_id == "invoice" else texts.header_amount
            facts.append(Fact("total", "summary", bare(label), money(master.total), ours=True))
        if master.issued_ms:
            date = headers.beijing_date(master.issued_ms)
            facts.append(Fact("issued", "summary", bare(texts.header_issued), date, ours=True))
        if master.verified is not None:
            verdict = texts.verified_yes if master.verified else texts.verified_no
            facts.append(
                Fact("verified", "summary", bare(texts.header_verified), verdict, ours=True)
            )
        facts.extend(_details(invoice, texts))
    facts.extend(_warnings(invoice, texts))
    return facts


def _details(invoice: InvoiceSummary, texts: Texts) -> list[Fact]:
    master = invoice.master
    assert master is not None
    facts = [
        Fact("category", "detail", bare(texts.header_category), _category(invoice, texts), True)
    ]
    if master.code or master.number:
        value = " / ".join(v for v in (master.code, master.number) if v)
        label = texts.header_code_number if master.code else texts.header_number
        facts.append(Fact("code_number", "detail", bare(label), value))
    if master.buyer:
        facts.append(Fact("buyer", "detail", bare(texts.header_buyer), master.buyer))
    words = card_texts(texts)
    for key, name, text in (
        ("seller_tax_id", words.seller_tax_id, master.seller_tax_id),
        ("buyer_tax_id", words.buyer_tax_id, master.buyer_tax_id),
        ("remarks", words.remarks, master.remarks),
    ):
        if text:
            facts.append(Fact(key, "detail", name, text))
    return facts


def _category(invoice: InvoiceSummary, texts: Texts) -> str:
    master = invoice.master
    assert master is not None
    if master.category and master.category in texts.categories:
        return texts.categories[master.category]
    if master.object_id in texts.ticket_types:
        return texts.ticket_types[master.object_id]
    return master.category or master.object_id


def _warnings(invoice: InvoiceSummary, texts: Texts) -> list[Fact]:
    master, facts = invoice.master, []
    if master is not None and invoice.lines and not invoice.totals.incomplete:
        lines_total = invoice.totals.total
        if (
            lines_total is not None
            and master.total is not None
            and abs(lines_total - master.total) > headers.TOLERANCE
        ):
            text = texts.header_mismatch.format(
                lines=money(lines_total),
                total=money(master.total),
                difference=money(abs(lines_total - master.total)),
            )
            facts.append(Fact("mismatch", "warning", "", text, ours=True))
    if invoice.risks:
        facts.append(Fact("risk", "warning", "", risk_text(invoice.risks, texts), ours=True))
    if _shortened(invoice, facts_so_far=facts):
        facts.append(Fact("shortened", "warning", "", card_texts(texts).shortened, ours=True))
    unreadable = [*(master.unreadable if master else ()), *_line_fields(invoice)]
    if unreadable:
        words = card_texts(texts)
        names = ", ".join(dict.fromkeys(words.field_names.get(f, f) for f in unreadable))
        text = words.unreadable.format(fields=names)
        facts.append(Fact("unreadable", "warning", "", text, ours=True))
    return facts


def risk_text(tags: tuple[RiskTag, ...], texts: Texts) -> str:
    """Each tag in our words (where we know its kind) with Ekuaibao's own name, made safe."""
    words = card_texts(texts)
    shown = [_tag_words(tag, words) for tag in tags[:MAX_TAGS]]
    if len(tags) > MAX_TAGS:
        shown.append(f"+{len(tags) - MAX_TAGS}")
    return words.risk_flags.format(tags=" · ".join(shown))


def _tag_words(tag: RiskTag, words: CardTexts) -> str:
    name = neutral(tag.name, MAX_TAG_NAME)
    ours = words.risk_kinds.get(tag.kind)
    return words.risk_tag.format(words=ours, name=name) if ours else name


def _shortened(invoice: InvoiceSummary, facts_so_far: list[Fact]) -> bool:
    master = invoice.master
    header = [] if master is None else invoice_header_values(invoice)
    if any(len(value) > cap for value, cap in header):
        return True
    caps = ((MAX_NAME, "name"), (MAX_SPEC, "spec"), (MAX_TAX_RATE, "tax_rate"))
    return any(len(getattr(line, attr) or "") > cap for line in invoice.lines for cap, attr in caps)


def invoice_header_values(invoice: InvoiceSummary) -> list[tuple[str, int]]:
    """Ekuaibao's header texts with their caps."""
    master = invoice.master
    assert master is not None
    pairs = [
        (master.seller, CAPS["seller"]),
        (master.buyer, CAPS["buyer"]),
        (master.remarks, CAPS["remarks"]),
        (master.seller_tax_id, DEFAULT_CAP),
        (master.buyer_tax_id, DEFAULT_CAP),
        (" / ".join(v for v in (master.code, master.number) if v), CAPS["code_number"]),
    ]
    return [(value, cap) for value, cap in pairs if value]


def _line_fields(invoice: InvoiceSummary) -> list[str]:
    return [field for line in invoice.lines for field in line.unreadable]
