"""What a card says about an invoice, and that both layouts say all of it."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sandbox.blockkit import text_objects, validate_message
from tasks.ekuaibao.masters import InvoiceMaster
from tasks.ekuaibao.models import LineItem
from tasks.shared.blocks import neutral, plain
from tasks.shared.texts import EN, ZH
from tasks.slack.card import compact_invoice_blocks, invoice_blocks
from tasks.slack.facts import Fact, invoice_facts
from tasks.summary import InvoiceSummary

DATA = Path(__file__).resolve().parents[4] / "sandbox" / "data"
BY_TYPE: dict[str, dict[str, Any]] = json.loads((DATA / "invoice-master.by-type.json").read_text())
VAT = InvoiceMaster.from_api("invoice", BY_TYPE["invoice"])
TAXI = InvoiceMaster.from_api("taxi", BY_TYPE["taxi"])


def line(amount: str = "100.00", tax: str = "13.00", **kw: Any) -> LineItem:
    fields: dict[str, Any] = dict(
        id="L",
        invoice_id=VAT.invoice_id,
        name="*鞋*吉普",
        spec=None,
        quantity=None,
        unit_price=None,
        amount=Decimal(amount),
        tax_rate="13%",
        tax=Decimal(tax),
    )
    fields.update(kw)
    return LineItem(**fields)


def summary(master: InvoiceMaster | None, *lines: LineItem) -> InvoiceSummary:
    invoice_id = master.invoice_id if master else "c::23312000000123878916"
    return InvoiceSummary(invoice_id, tuple(lines), (), master)


def by_key(facts: list[Fact]) -> dict[str, Fact]:
    return {f.key: f for f in facts}


def test_a_vat_invoice_leads_with_seller_total_date_and_verification() -> None:
    facts = invoice_facts(summary(VAT), EN)
    assert [(f.key, f.value) for f in facts if f.kind == "summary"] == [
        ("seller", "中国联合网络通信有限公司深圳市分公司"),
        ("total", "¥171.00"),
        ("issued", "2022-09-09"),
        ("verified", ":white_check_mark: Verified"),
    ]
    details = by_key(facts)
    assert details["category"].value == "Electronic general VAT invoice"
    assert details["code_number"].value == "044032100111 / 13415524"
    assert details["buyer"].value == "北京合思信息技术有限公司"
    assert details["seller_tax_id"].value == "91440300892254961D"
    assert details["remarks"].value == "业务号码:18620393295;账期:202208"
    assert details["total"].label == "Total incl. tax (价税合计)"


def test_chinese_labels() -> None:
    facts = by_key(invoice_facts(summary(VAT), ZH))
    assert (facts["seller"].label, facts["total"].label) == ("销售方", "价税合计")
    assert facts["category"].value == "增值税电子普通发票"
    assert facts["seller_tax_id"].label == "销售方纳税人识别号"


def test_a_ticket_has_an_amount_not_a_vat_total_and_omits_what_it_lacks() -> None:
    facts = by_key(invoice_facts(summary(TAXI), EN))
    assert facts["total"].label == "Amount" and facts["total"].value == "¥15.00"
    assert facts["category"].value == "Taxi receipt" and "seller" not in facts


def test_verification_says_so_when_missing_and_is_absent_when_unknown() -> None:
    unverified = VAT.model_copy(update={"verified": False})
    assert by_key(invoice_facts(summary(unverified), EN))["verified"].value.endswith("Not verified")
    unknown = VAT.model_copy(update={"verified": None})
    assert "verified" not in by_key(invoice_facts(summary(unknown), EN))


@pytest.mark.parametrize(
    ("object_id", "category", "words"),
    [
        ("invoice", "FULL_DIGITAl_NORMAL", "Fully digital invoice (general)"),
        ("invoice", "PAPER_FEE", "Toll invoice"),
        ("invoice", "SOMETHING_NEW", "VAT invoice"),
        ("train", None, "Train ticket"),
        ("ship", "RAW_<&>", "RAW_<&>"),
        ("ship", None, "ship"),
    ],
)
def test_category_words(object_id: str, category: str | None, words: str) -> None:
    master = VAT.model_copy(update={"object_id": object_id, "category": category})
    assert by_key(invoice_facts(summary(master), EN))["category"].value == words


def test_warnings_for_a_mismatch_a_value_not_read_and_a_cut_value() -> None:
    odd = line(unreadable=("quantity",))
    facts = by_key(invoice_facts(summary(VAT, odd), EN))
    assert "¥113.00" in facts["mismatch"].value and "¥171.00" in facts["mismatch"].value
    assert "quantity" in facts["unreadable"].value
    long_seller = VAT.model_copy(update={"seller": "长" * 500})
    assert "shortened" in by_key(invoice_facts(summary(long_seller), EN))


CASES = {
    "vat with a mismatch": summary(VAT, line()),
    "vat that adds up": summary(VAT, line("151.33", "19.67")),
    "ticket": summary(TAXI),
    "unverified, unreadable, cut": summary(
        VAT.model_copy(update={"verified": False, "seller": "S" * 900, "unreadable": ("issued",)}),
        line(unreadable=("amount",), amount="1", name="x" * 900),
    ),
    "hostile text": summary(
        VAT.model_copy(update={"seller": "*粗* _斜_ ~删~ `码` :white_check_mark: <@U1>\n&"}),
        line(),
    ),
    "no master": summary(None, line()),
}


def shows(fact: Fact, blocks: list[dict[str, Any]]) -> bool:
    """The fact's value as the layout must show it: literally in plain_text, neutralised in
    mrkdwn, or as our own words."""
    text = json.dumps(blocks, ensure_ascii=False)
    forms = (
        [fact.value] if fact.ours else [plain(fact.value, fact.cap), neutral(fact.value, fact.cap)]
    )
    return any(json.dumps(form, ensure_ascii=False)[1:-1] in text for form in forms)


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("texts", [EN, ZH], ids=["en", "zh"])
def test_both_layouts_show_every_fact(name: str, texts: Any) -> None:
    invoice = CASES[name]
    full, compact = invoice_blocks(invoice, texts), compact_invoice_blocks(invoice, texts)
    for fact in invoice_facts(invoice, texts):
        assert shows(fact, full), f"full layout leaves out {fact.key}"
        assert shows(fact, compact), f"compact layout leaves out {fact.key}"
    for blocks in (full, compact):
        assert validate_message({"text": "x", "blocks": blocks}) == []


def test_hostile_text_never_formats_the_message() -> None:
    invoice = CASES["hostile text"]
    for blocks in (invoice_blocks(invoice, EN), compact_invoice_blocks(invoice, EN)):
        for obj in text_objects(blocks):
            if obj["type"] == "mrkdwn":
                for raw in ("*粗*", "_斜_", "~删~", "`码`", ":white_check_mark: <@U1>", "<@U1>"):
                    assert raw not in obj["text"]
                assert "\n&" not in obj["text"]
            elif "*粗*" in obj["text"]:
                assert obj.get("emoji") is False and "\n&" not in obj["text"].split("\n", 1)[1]
