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
from tasks.shared.blocks import CONTROL, FORMATTING, MAX_HEADER, clip, escape, money, plain
from tasks.shared.texts import Texts

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
    """Ekuaibao's text for mrkdwn: escaped, formatting neutralised, on one line, and clipped
    first so an entity like `&amp;` is never cut in half."""
    flat = text.translate(CONTROL)
    escaped = escape(flat)
    if len(escaped) > limit:
        kept: list[str] = []
        used = 1  # the "…"
        for char in flat:
            piece = escape(char)
            if used + len(piece) > limit:
                break
            kept.append(piece)
            used += len(piece)
        escaped = "".join(kept) + "…" if limit > 0 else ""
    return escaped.translate(FORMATTING)


def _field(label: str, value: str) -> Field:
    """One mrkdwn field: a bold label over a value that is already escaped."""
    return {"type": "mrkdwn", "text": clip(f"{label}\n{value}", MAX_FIELD)}


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
    """For a plain_text header: Ekuaibao's text exactly, no entities."""
    code = plain((report.code if report and report.code else code_or_id), 60)
    if report and report.title:
        budget = MAX_HEADER - len(texts.report_title_with_name.format(code=code, title=""))
        return texts.report_title_with_name.format(code=code, title=plain(report.title, budget))
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
    header_text = {"type": "plain_text", "text": title, "emoji": False}
    blocks: list[Block] = [{"type": "header", "text": header_text}]
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
    "fit",
    "mismatch_warning",
    "report_header_blocks",
]
