"""Ekuaibao's risk flags on the card and in "does it add up": in our words and Ekuaibao's
own, counted, and said plainly when they could not be read."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sandbox.blockkit import validate_message
from tasks.ekuaibao.masters import InvoiceMaster
from tasks.ekuaibao.risk import DUPLICATE, ReportRisk, RiskTag
from tasks.shared.review_texts import review_texts_for
from tasks.shared.texts import EN, ZH, Texts
from tasks.slack.card import compact_invoice_blocks, invoice_blocks
from tasks.slack.checks import Checks, checks_text, report_checks_blocks
from tasks.slack.facts import MAX_TAGS, invoice_facts
from tasks.summary import InvoiceSummary, LookupResult, ReportPage, with_risk

DATA = Path(__file__).resolve().parents[4] / "sandbox" / "data"
BY_TYPE: dict[str, dict[str, Any]] = json.loads((DATA / "invoice-master.by-type.json").read_text())
VAT = InvoiceMaster.from_api("invoice", BY_TYPE["invoice"])
assert VAT.report is not None and VAT.report.flow_id
FLOW = VAT.report.flow_id


def invoice(n: int) -> InvoiceSummary:
    master = VAT.model_copy(update={"invoice_id": f"c:1:{n}", "total": Decimal("10.00")})
    return InvoiceSummary(master.invoice_id, (), (), master)


def result(*invoices: InvoiceSummary) -> LookupResult:
    page = ReportPage("B1", VAT.report, len(invoices), 0, len(invoices), 0)
    return LookupResult(tuple(i.invoice_id for i in invoices), invoices, (), 0.0, page)


def risk(*tags: RiskTag, total: int = 2, bad: int = 1) -> ReportRisk:
    return ReportRisk(FLOW, tags, total, total - bad, bad)


DUP = RiskTag("c:1:1", DUPLICATE, "存在疑似发票重复")


def dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (EN, "suspected duplicate invoice (存在疑似发票重复)"),
        (ZH, "疑似重复发票（存在疑似发票重复）"),
    ],
)
def test_a_tag_is_said_in_our_words_with_ekuaibaos_own_name(texts: Texts, expected: str) -> None:
    flagged = with_risk(result(invoice(1), invoice(2)), risk(DUP), read=True)
    first, second = flagged.invoices
    facts = {f.key: f for f in invoice_facts(first, texts)}
    assert facts["risk"].kind == "warning" and expected in facts["risk"].value
    assert "risk" not in {f.key for f in invoice_facts(second, texts)}
    for blocks in (invoice_blocks(first, texts), compact_invoice_blocks(first, texts)):
        assert expected in dump(blocks)
        assert validate_message({"blocks": blocks}) == []


def test_an_unknown_kind_shows_its_name_alone_and_hostile_names_are_neutralised() -> None:
    odd = RiskTag("c:1:1", "NEW_KIND", "<!channel> *新* `风险`")
    many = tuple(RiskTag("c:1:1", f"K{n}", f"tag {n}") for n in range(MAX_TAGS + 2))
    flagged = with_risk(result(invoice(1)), risk(odd, *many), read=True).invoices[0]
    text = next(f.value for f in invoice_facts(flagged, EN) if f.key == "risk")
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "*新*" not in text and "`风险`" not in text
    assert "+3" in text  # MAX_TAGS shown, the rest counted


def test_the_add_up_line_counts_flags_with_ekuaibaos_own_counts() -> None:
    flagged = with_risk(result(invoice(1), invoice(2)), risk(DUP), read=True)
    checks = Checks.of(FLOW, flagged.invoices, EN, flagged)
    assert checks.flagged == 1
    text = checks_text(checks, Decimal("20.00"), review_texts_for("en"))
    assert "1 invoice(s) flagged by Ekuaibao's risk check" in text
    assert "Ekuaibao counts 1 of 2 not compliant" in text
    zh = checks_text(checks, Decimal("20.00"), review_texts_for("zh"))
    assert "1 张发票被合思风险检查标记" in zh and "合思统计 2 张中 1 张不合规" in zh


def test_no_tags_read_is_all_clear_and_a_failed_read_says_so() -> None:
    clear = with_risk(result(invoice(1)), None, read=True)
    assert clear.risk_flags == "read" and clear.flagged == 0
    assert "no risk flags from Ekuaibao" in dump(
        report_checks_blocks(clear.report, clear.invoices, EN, clear)  # type: ignore[arg-type]
    )
    failed = with_risk(result(invoice(1)), None, read=False)
    blocks = report_checks_blocks(failed.report, failed.invoices, ZH, failed)  # type: ignore[arg-type]
    assert "暂时无法读取合思的风险标记" in dump(blocks)
    assert "risk" not in {f.key for f in invoice_facts(failed.invoices[0], EN)}


def test_a_reply_that_did_not_ask_says_nothing_of_flags() -> None:
    plain = result(invoice(1))
    text = dump(report_checks_blocks(plain.report, plain.invoices, EN, plain))  # type: ignore[arg-type]
    assert "risk" not in text.lower()
