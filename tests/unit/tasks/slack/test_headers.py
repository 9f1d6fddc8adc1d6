"""Invoice and report headers: Beijing dates, words for codes, escaping, Slack limits."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sandbox.blockkit import validate_message
from tasks.ekuaibao.masters import InvoiceMaster
from tasks.shared.texts import EN, ZH
from tasks.slack.headers import (
    beijing_date,
    fit,
    mismatch_warning,
    report_header_blocks,
)

DATA = Path(__file__).resolve().parents[4] / "sandbox" / "data"
BY_TYPE: dict[str, dict[str, Any]] = json.loads((DATA / "invoice-master.by-type.json").read_text())
VAT = InvoiceMaster.from_api("invoice", BY_TYPE["invoice"])
TAXI = InvoiceMaster.from_api("taxi", BY_TYPE["taxi"])
REPORT = VAT.report
assert REPORT is not None


def texts_of(fields: list[dict[str, Any]]) -> list[str]:
    return [f["text"] for f in fields]


def valid(blocks: list[dict[str, Any]]) -> None:
    assert validate_message({"text": "x", "blocks": blocks}) == []


def test_dates_are_beijing_dates() -> None:
    assert beijing_date(1662652800000) == "2022-09-09"  # 2022-09-08T16:00Z
    assert beijing_date(1702629998692) == "2023-12-15"


def test_fit_never_cuts_an_entity() -> None:
    assert fit("a&b", 100) == "a&amp;b"
    clipped = fit("&" * 100, 20)
    assert len(clipped) <= 20 and clipped.endswith("…")
    assert clipped[:-1] == "&amp;" * ((len(clipped) - 1) // 5)


@pytest.mark.parametrize(
    ("lines", "warned"),
    [
        (Decimal("171.00"), False),
        (Decimal("171.01"), False),
        (Decimal("170.99"), False),
        (Decimal("171.02"), True),
        (Decimal("170.98"), True),
        (Decimal("171.0100000001"), True),
        (None, False),
    ],
)
def test_mismatch_warning(lines: Decimal | None, warned: bool) -> None:
    warning = mismatch_warning(VAT, lines, EN)
    assert (warning is not None) == warned
    if warning is not None and lines == Decimal("171.02"):
        assert warning == (
            ":warning: The line items add up to ¥171.02, but the invoice total (价税合计) is "
            "¥171.00: a difference of ¥0.02. Check the invoice before approving."
        )


def test_no_mismatch_without_an_invoice_total() -> None:
    assert mismatch_warning(VAT.model_copy(update={"total": None}), Decimal(1), EN) is None


def test_report_header() -> None:
    blocks = report_header_blocks(REPORT, REPORT_CODE := "B23001249", 5, EN)
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": f"Report {REPORT_CODE} · 校验测试", "emoji": False},
    }
    assert texts_of(blocks[1]["fields"]) == [
        "*Submitter*\n`ID01ojZ2n2e0PR`",
        "*Submitted*\n2023-12-15",
        "*State*\nIn approval",
        "*Expense total*\n¥117,354.32",
        "*Invoices*\n5 invoice(s)",
    ]
    valid(blocks)


def test_report_header_looked_up_by_id_shows_the_code() -> None:
    blocks = report_header_blocks(REPORT, "ID01vmXWPHarK6", 1, ZH)
    assert blocks[0]["text"]["text"] == "单据 B23001249 · 校验测试"
    assert "*状态*\n审批中" in texts_of(blocks[1]["fields"])


@pytest.mark.parametrize(
    ("state", "words"),
    [("approving", "In approval"), ("paid", "Paid"), ("nullify", "Voided"), ("<x>", "&lt;x&gt;")],
)
def test_state_words(state: str, words: str) -> None:
    report = REPORT.model_copy(update={"state": state})
    assert f"*State*\n{words}" in texts_of(report_header_blocks(report, "B1", 1, EN)[1]["fields"])


def test_report_header_without_report_or_title() -> None:
    blocks = report_header_blocks(None, "B23001249", 0, EN)
    assert blocks[0]["text"]["text"] == "Report B23001249"
    assert texts_of(blocks[1]["fields"]) == ["*Invoices*\n0 invoice(s)"]
    untitled = REPORT.model_copy(update={"title": None, "submitter_id": None, "state": None})
    blocks = report_header_blocks(untitled, "B23001249", 2, EN)
    assert blocks[0]["text"]["text"] == "Report B23001249"
    assert texts_of(blocks[1]["fields"]) == [
        "*Submitted*\n2023-12-15",
        "*Expense total*\n¥117,354.32",
        "*Invoices*\n2 invoice(s)",
    ]
    valid(blocks)


def test_report_header_escapes_and_fits() -> None:
    report = REPORT.model_copy(
        update={"title": "<@U1> & x " * 40, "submitter_id": "corp:`<b>`", "code": "B<1>"}
    )
    blocks = report_header_blocks(report, "B1", 3, EN)
    title = blocks[0]["text"]["text"]
    # a plain_text header shows Ekuaibao's title exactly: no entities, never a mention
    assert title.startswith("Report B<1> · <@U1> & x") and len(title) <= 150
    assert blocks[0]["text"] == {"type": "plain_text", "text": title, "emoji": False}
    fields = [t.replace("\u200b", "") for t in texts_of(blocks[1]["fields"])]
    assert "*Submitter*\n`ˋ&lt;b&gt;ˋ`" in fields
    valid(blocks)
