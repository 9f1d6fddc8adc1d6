"""Pure renderers for the invoice header (from the master record) and the report header.

No I/O: the models are already fetched. Every value from Ekuaibao is mrkdwn-escaped and
clipped so the escaped text stays within Slack's limits (10 fields of ≤2000 chars per
section, 150 chars per header).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tasks.ekuaibao.masters import InvoiceMaster, ReportInfo
from tasks.slack.blocks import DASH, MAX_HEADER, clip, escape, money
from tasks.slack.texts import Texts

Block = dict[str, Any]
Field = dict[str, Any]

MAX_FIELDS = 10
MAX_FIELD = 2000
#: Line items and 价税合计 may differ by rounding of one cent; more than that is worth a look.
TOLERANCE = Decimal("0.01")


def _beijing() -> tzinfo:
    """Asia/Shanghai; a fixed +08:00 (China has had no DST since 1991) if tzdata is missing."""
    try:
        return ZoneInfo("Asia/Shanghai")
    except ZoneInfoNotFoundError:
        return timezone(timedelta(hours=8), "Asia/Shanghai")


BEIJING = _beijing()


def beijing_date(epoch_ms: int) -> str:
    """`YYYY-MM-DD` in Beijing time: invoice dates are Beijing midnight, a day early in UTC."""
    return datetime.fromtimestamp(epoch_ms / 1000, tz=BEIJING).strftime("%Y-%m-%d")


def fit(text: str, limit: int) -> str:
    """Escape, clipping the raw text first so an entity like `&amp;` is never cut in half."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    kept: list[str] = []
    used = 1  # the "…"
    for char in text:
        piece = escape(char)
        if used + len(piece) > limit:
            break
        kept.append(piece)
        used += len(piece)
    return "".join(kept) + "…" if limit > 0 else ""


def _field(label: str, value: str) -> Field:
    """One mrkdwn field: a bold label over a value that is already escaped."""
    return {"type": "mrkdwn", "text": clip(f"{label}\n{value}", MAX_FIELD)}


def _code_number(master: InvoiceMaster, texts: Texts) -> Field | None:
    """`code / number` for VAT-style ids; just the number for fully digital invoices."""
    code, number = master.code, master.number
    if code and number:
        return _field(texts.header_code_number, f"{fit(code, 200)} / {fit(number, 200)}")
    if number:
        return _field(texts.header_number, fit(number, 400))
    if code:
        return _field(texts.header_code_number, f"{fit(code, 400)} / {DASH}")
    return None


def category_words(master: InvoiceMaster, texts: Texts) -> str:
    """The category in words, else the ticket type in words, else Ekuaibao's raw value."""
    if master.category and master.category in texts.categories:
        return texts.categories[master.category]
    if master.object_id in texts.ticket_types:
        return texts.ticket_types[master.object_id]
    return fit(master.category or master.object_id, 400)


def invoice_header_fields(master: InvoiceMaster, texts: Texts) -> list[Field]:
    """Section `fields` for one invoice; absent values are left out, not shown empty."""
    fields: list[Field | None] = [
        _field(texts.header_seller, fit(master.seller, 1000)) if master.seller else None,
        _field(texts.header_buyer, fit(master.buyer, 1000)) if master.buyer else None,
        _code_number(master, texts),
        _field(texts.header_issued, beijing_date(master.issued_ms)) if master.issued_ms else None,
        _field(texts.header_category, category_words(master, texts)),
    ]
    if master.verified is not None:
        verdict = texts.verified_yes if master.verified else texts.verified_no
        fields.append(_field(texts.header_verified, verdict))
    if master.total is not None:
        label = texts.header_total if master.object_id == "invoice" else texts.header_amount
        fields.append(_field(label, money(master.total)))
    return [f for f in fields if f is not None][:MAX_FIELDS]


def mismatch_warning(
    master: InvoiceMaster, lines_total: Decimal | None, texts: Texts
) -> str | None:
    """A warning when Σ lines and 价税合计 disagree by more than a cent: a sign of a bad OCR."""
    if master.total is None or lines_total is None:
        return None
    difference = abs(lines_total - master.total)
    if difference <= TOLERANCE:
        return None
    return texts.header_mismatch.format(
        lines=money(lines_total), total=money(master.total), difference=money(difference)
    )


def _submitter(submitter_id: str) -> str:
    """The staff part of `<corpId>:<staffId>` as code: no names API is called to resolve it."""
    staff = submitter_id.split(":", 1)[-1] or submitter_id
    return "`" + fit(staff, 200).replace("`", "ˋ") + "`"


def _report_title(report: ReportInfo | None, code_or_id: str, texts: Texts) -> str:
    code = fit((report.code if report and report.code else code_or_id), 60)
    if report and report.title:
        budget = MAX_HEADER - len(texts.report_title_with_name.format(code=code, title=""))
        return texts.report_title_with_name.format(code=code, title=fit(report.title, budget))
    return texts.report_title.format(code=code)


def report_header_blocks(
    report: ReportInfo | None,
    code_or_id: str,
    invoice_count: int,
    texts: Texts,
    submitter_name: str | None = None,
) -> list[Block]:
    """A header with the report's code and title, then who, state, when, how much, how many."""
    title = clip(_report_title(report, code_or_id, texts), MAX_HEADER)
    blocks: list[Block] = [{"type": "header", "text": {"type": "plain_text", "text": title}}]
    fields: list[Field] = []
    if report and report.submitter_id:
        who = fit(submitter_name, 200) if submitter_name else _submitter(report.submitter_id)
        fields.append(_field(texts.report_submitter, who))
    if report and report.submitted_ms:
        fields.append(_field(texts.report_submitted, beijing_date(report.submitted_ms)))
    if report and report.state:
        fields.append(
            _field(texts.report_state, texts.states.get(report.state) or fit(report.state, 200))
        )
    if report and report.expense_total is not None:
        fields.append(_field(texts.report_total, money(report.expense_total)))
    fields.append(_field(texts.report_invoices, texts.report_count.format(count=invoice_count)))
    blocks.append({"type": "section", "fields": fields[:MAX_FIELDS]})
    return blocks


__all__ = [
    "BEIJING",
    "MAX_FIELD",
    "MAX_FIELDS",
    "TOLERANCE",
    "beijing_date",
    "category_words",
    "fit",
    "invoice_header_fields",
    "mismatch_warning",
    "report_header_blocks",
]
