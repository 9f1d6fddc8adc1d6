"""Issue 12 end to end: a ticket by id shows its header, the report header adds up and
names its submitter, and "Keep in my DMs" posts a lasting copy.

Signed Slack requests into the real bot; a real worker; Ekuaibao and Slack stand-ins.
"""

from __future__ import annotations

import json

from sandbox.blockkit import validate_message
from sandbox.ekuaibao import EkuaibaoStandIn
from tests.integration.harness import RunningBot

TAXI = "ID01t7pX8ylwkL"  # a taxi receipt: ¥15.00, boarded 2023-03-21 Beijing time
DISCOUNT = "djg8LshfUkfM00:033002100311:23272058"
REPORT = "B23001249"


def text_of(body: dict) -> str:
    return json.dumps(body, ensure_ascii=False)


def elements(body: dict, action_id: str) -> list[dict]:
    return [
        e
        for b in body.get("blocks", [])
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    ]


def test_a_ticket_looked_up_by_id_shows_its_header(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn
) -> None:
    before, calls_before = len(ekuaibao.calls_to("/search")), len(ekuaibao.calls)
    [post] = bot.reply(bot.command(TAXI))
    assert post.status == 200 and validate_message(post.body) == []
    text = text_of(post.body)
    assert "Taxi receipt" in text and "¥15.00" in text and "2023-03-21" in text
    searches = [c.path for c in ekuaibao.calls_to("/search")[before:]]
    assert len(searches) == 4  # the first wave of ticket types; no invoice search for it
    assert not ekuaibao.calls_to("detailBatch")[calls_before:]  # a ticket has no lines
    [post] = bot.reply(bot.command(TAXI))  # again: the type is remembered
    assert "Taxi receipt" in text_of(post.body)
    assert len(ekuaibao.calls_to("/search")) - before == 4 + 1


def test_a_failing_name_lookup_shows_the_staff_id(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn
) -> None:
    ekuaibao.fail_next(1, status=400, paths="getStaffIds")
    [post] = bot.reply(bot.command(f"report {REPORT}"))
    assert post.status == 200 and validate_message(post.body) == []
    assert "`ID01ojZ2n2e0PR`" in text_of(post.body) and "沙盒用户" not in text_of(post.body)


def test_the_report_header_names_the_submitter_and_says_whether_it_adds_up(
    bot: RunningBot,
) -> None:
    [post] = bot.reply(bot.command(f"report {REPORT}"))
    assert post.status == 200 and validate_message(post.body) == []
    header = text_of(post.body["blocks"][:4])
    assert "沙盒用户" in header and "ID01ojZ2n2e0PR" not in header
    assert "its invoices add up to" in header
    assert "not verified" in header or "every invoice verified" in header


def test_keep_in_my_dms_posts_a_lasting_copy_for_its_owner_only(bot: RunningBot) -> None:
    [post] = bot.reply(bot.command(DISCOUNT))
    [keep] = elements(post.body, "keep_in_dm")
    _, url = bot.click("keep_in_dm", keep["value"], user="U0INTRUDER")
    [notice] = bot.slack.wait_for_posts(url, 1, timeout=30)
    assert "Only the person who asked" in notice.body["text"]
    since = len(bot.slack.api_calls)
    response, _ = bot.click("keep_in_dm", keep["value"])
    assert response.status_code == 200
    [opened] = bot.wait_api("conversations.open", since=since)
    assert opened.params["users"] == "U0SANDBOX"
    [posted] = bot.wait_api("chat.postMessage", since=since)
    assert posted.params["channel"] == "D0SANDBOX"
    [kept] = bot.slack.messages_in("D0SANDBOX")[-1:]
    assert validate_message(kept) == [] and "¥263.00" in text_of(kept)
    assert elements(kept, "refresh_links") and not elements(kept, "keep_in_dm")
