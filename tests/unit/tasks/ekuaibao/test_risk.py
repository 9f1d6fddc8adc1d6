"""Ekuaibao's risk labels are read tag by tag: one odd entry costs that entry only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.ekuaibao.risk import DUPLICATE, RiskTag, parse_risk_labels

SAMPLE = json.loads(
    (
        Path(__file__).resolve().parents[4] / "sandbox" / "data" / "risk-label.response.json"
    ).read_text(encoding="utf-8")
)


def test_the_documented_sample_is_read() -> None:
    found = parse_risk_labels(SAMPLE)
    risk = found["j7sbyDMhYUpU00"]
    invoice = "gwobfjObAAno00:3700171320:38415400"
    assert risk.tags_for(invoice) == (RiskTag(invoice, DUPLICATE, "存在疑似发票重复"),)
    assert (risk.invoice_total, risk.compliant, risk.non_compliant) == (2, 1, 1)
    assert risk.tags_for("5-sbyDJSOI0800") == ()


def test_nothing_found_is_an_empty_answer_not_an_error() -> None:
    assert parse_risk_labels({"items": []}) == {}
    assert parse_risk_labels({}) == {}


@pytest.mark.parametrize("body", [None, [], {"items": "x"}, "items"])
def test_an_answer_without_an_items_list_is_refused(body: object) -> None:
    with pytest.raises(ValueError):
        parse_risk_labels(body)


def test_odd_entries_are_skipped_one_by_one() -> None:
    body = {
        "items": [
            "not an object",
            {"flowId": 7},
            {
                "flowId": "F1",
                "details": [
                    None,
                    {"riskTags": "x"},
                    {
                        "riskTags": [
                            {"tagName": "no invoice"},
                            {"invoiceId": "a:1:2"},  # neither type nor name
                            {"invoiceId": "a:1:2", "type": "NEW_KIND"},
                            {"invoiceId": "a:1:2", "type": DUPLICATE, "tagName": " 重复 "},
                            {"invoiceId": "a:1:2", "type": DUPLICATE, "tagName": " 重复 "},
                        ]
                    },
                ],
                "invoiceTotal": "2",
                "compliance": True,
                "noCompliance": -1,
            },
        ]
    }
    risk = parse_risk_labels(body)["F1"]
    assert risk.tags_for("a:1:2") == (
        RiskTag("a:1:2", "NEW_KIND", "NEW_KIND"),
        RiskTag("a:1:2", DUPLICATE, "重复"),
    )
    assert (risk.invoice_total, risk.compliant, risk.non_compliant) == (None, None, None)
