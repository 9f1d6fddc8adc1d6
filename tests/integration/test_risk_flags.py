"""Ekuaibao's risk flags over real HTTP: a report reply and a review card ask once per
report and show each invoice's tags; when the call fails, only the flags are missing."""

from __future__ import annotations

import json

from sandbox.blockkit import validate_message
from sandbox.ekuaibao import REPORT_CODE, REPORT_ID, EkuaibaoStandIn, SandboxWorld, risk_label
from sandbox.slack import SlackStandIn
from tasks.ekuaibao.client import RISK_LABEL_PATH
from tests.integration.harness import RunningBot

WORLD = SandboxWorld.load()
FLAGGED = next(
    e["invoiceId"] for e in WORLD.reports_by_id[REPORT_ID] if e["invoiceType"] == "invoice"
)
RISK_PATH = RISK_LABEL_PATH.format(flow_ids=REPORT_ID)


def text_of(body: dict) -> str:
    return json.dumps(body.get("blocks", []), ensure_ascii=False)


def invoice_sections(body: dict) -> dict[str, str]:
    """Each invoice's blocks as text (from its 🧾 header to the next), by the id it shows."""
    groups: list[list[dict]] = []
    for block in body.get("blocks", []):
        if block["type"] == "header" and block["text"]["text"].startswith("🧾"):
            groups.append([])
        if groups:
            groups[-1].append(block)
    found = {}
    for group in groups:
        text = json.dumps(group, ensure_ascii=False)
        for entry in WORLD.reports_by_id[REPORT_ID]:
            if f"`{entry['invoiceId']}`" in text:
                found[entry["invoiceId"]] = text
    return found


def risk_calls(ekuaibao: EkuaibaoStandIn, since: int) -> list[str]:
    return [c.path for c in ekuaibao.calls[since:] if "/invoice/risk/label/" in c.path]


def test_a_report_reply_shows_each_invoices_flags_from_one_call(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn
) -> None:
    before = len(ekuaibao.calls)
    [reply] = bot.reply(bot.command(f"report {REPORT_CODE}"))
    body = reply.body
    assert validate_message(body) == []
    sections = invoice_sections(body)
    assert len(sections) == len(WORLD.reports_by_id[REPORT_ID])
    flag = (
        "Ekuaibao's risk check flags this invoice: suspected duplicate invoice (存在疑似发票重复)"
    )
    assert flag in sections[FLAGGED]
    assert all("risk check flags" not in s for i, s in sections.items() if i != FLAGGED)
    text = text_of(body)
    assert "1 invoice(s) flagged by Ekuaibao's risk check" in text
    assert "Ekuaibao counts 1 of 5 not compliant" in text
    assert risk_calls(ekuaibao, before) == [RISK_PATH]  # one call, the report's flow id


def test_a_report_asked_by_its_id_asks_for_its_flags_once(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn
) -> None:
    before = len(ekuaibao.calls)
    [reply] = bot.reply(bot.command(f"report {REPORT_ID}"))
    assert "suspected duplicate invoice" in text_of(reply.body)
    assert risk_calls(ekuaibao, before) == [RISK_PATH]


def test_failing_flags_cost_the_flags_only_and_say_so(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn
) -> None:
    ekuaibao.fail_next(20, status=502, paths="/invoice/risk/label/")
    before = len(ekuaibao.calls)
    command = bot.command(f"report {REPORT_CODE}")
    [reply] = bot.reply(command)  # exactly one answer: the lookup itself did not fail
    body = reply.body
    assert validate_message(body) == []
    assert len(invoice_sections(body)) == len(WORLD.reports_by_id[REPORT_ID])
    text = text_of(body)
    assert "risk flags could not be read just now" in text
    assert "flagged by Ekuaibao" not in text and "risk check flags" not in text
    assert "could not reach Ekuaibao" not in text.lower()
    assert 1 <= len(risk_calls(ekuaibao, before)) <= 4  # repeated for about a second only
    assert "risk flags of report" in bot.log()


def test_a_report_without_tags_is_all_clear(bot: RunningBot, ekuaibao: EkuaibaoStandIn) -> None:
    saved = ekuaibao.world.risk_labels.pop(REPORT_ID)
    try:
        [reply] = bot.reply(bot.command(f"report {REPORT_CODE}"))
    finally:
        ekuaibao.world.risk_labels[REPORT_ID] = saved
    text = text_of(reply.body)
    assert "no risk flags from Ekuaibao" in text and "risk check flags" not in text


def test_the_stand_in_answers_like_the_documented_api() -> None:
    item = risk_label("F1", 3, {"a:1:2": [("存在疑似发票重复", "INVOICE_REPEAT_VERIFICATION")]})
    assert (item["invoiceTotal"], item["noCompliance"], item["compliance"]) == (3, 1, 2)
    assert item["details"][0]["riskTags"][0]["invoiceId"] == "a:1:2"


def test_a_picture_slack_cannot_fetch_costs_the_picture_only(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    slack.refuse_images()
    try:
        refused, reply = bot.reply(bot.command(f"report {REPORT_CODE}"), n=2)
    finally:
        slack.refuse_images(False)
    assert refused.status == 400 and any(b["type"] == "image" for b in refused.body["blocks"])
    body = reply.body
    assert reply.status == 200 and not [b for b in body["blocks"] if b["type"] == "image"]
    assert len(invoice_sections(body)) == len(WORLD.reports_by_id[REPORT_ID])
    assert "risk check flags this invoice" in text_of(body)  # the rest of the reply is whole
    assert "sending it without them" in bot.log()
