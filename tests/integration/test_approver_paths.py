"""Issue 3 end to end: DMs, mentions, the shortcut, reports, refresh/share buttons, 中文.

Signed Slack requests into the real bot; a real worker; Ekuaibao and Slack stand-ins.
Every test runs on the embedded broker and on Redis.
"""

from __future__ import annotations

import json
import time
import urllib.parse

import httpx

from sandbox.blockkit import validate_message
from sandbox.ekuaibao import EkuaibaoStandIn
from tests.integration.conftest import OffsetClock, on_each_broker
from tests.integration.harness import RunningBot

DISCOUNT = "djg8LshfUkfM00:033002100311:23272058"
MEAL = "0aM9AbvdhI0400:011001900111:07517347"
REPORT = "B23001249"


def text_of(body: dict) -> str:
    return json.dumps(body, ensure_ascii=False)


def buttons(body: dict, action_id: str) -> list[dict]:
    return [
        e
        for b in body.get("blocks", [])
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    ]


def link_urls(body: dict) -> list[str]:
    return [b["accessory"]["url"] for b in body.get("blocks", []) if "accessory" in b]


def expires(url: str) -> int:
    return int(urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["Expires"][0])


# -- DMs -----------------------------------------------------------------------------------


def dm(text: str, **extra: object) -> dict:
    return {
        "type": "message",
        "channel_type": "im",
        "channel": "D0SANDBOX",
        "user": "U0SANDBOX",
        "text": text,
        "ts": f"{time.time():.6f}",
        **extra,
    }


def test_a_dm_with_ids_in_prose_is_answered_in_the_dm(bot: RunningBot) -> None:
    since = len(bot.slack.api_calls)
    response = bot.event(
        dm(f"hi <@U0SANDBOXBOT>, can you check `{DISCOUNT}` please? <https://x.test|link>")
    )
    assert response.status_code == 200
    [call] = bot.wait_api("chat.postMessage", since=since)
    assert call.params["channel"] == "D0SANDBOX" and call.status == 200
    assert "¥263.00" in text_of(call.params) and "Invoice 033002100311 · No. 23272058" in text_of(
        call.params
    )


def test_a_dm_without_ids_gets_a_one_line_hint(bot: RunningBot) -> None:
    since = len(bot.slack.api_calls)
    bot.event(dm("hello, what can you do?"))
    [call] = bot.wait_api("chat.postMessage", since=since)
    assert "Send me invoice ids" in call.params["text"]


@on_each_broker
def test_retried_deliveries_edits_and_bot_messages_get_no_second_answer(bot: RunningBot) -> None:
    since = len(bot.slack.api_calls)
    first = dm(f"{MEAL}")
    assert bot.event(first, event_id="EvRETRY1").status_code == 200
    assert bot.event(first, event_id="EvRETRY1", retry_num=1).status_code == 200
    assert bot.event(first, event_id="EvRETRY1", retry_num=2).status_code == 200
    bot.event(dm(MEAL, subtype="message_changed"))
    bot.event(dm(MEAL, bot_id="B0SANDBOX"))
    bot.wait_api("chat.postMessage", since=since)
    time.sleep(1.5)
    posts = [c for c in bot.slack.api_calls[since:] if c.method == "chat.postMessage"]
    assert len(posts) == 1


# -- mentions ------------------------------------------------------------------------------


def test_a_mention_reacts_and_answers_privately_in_the_thread(bot: RunningBot) -> None:
    since = len(bot.slack.api_calls)
    ts = f"{time.time():.6f}"
    bot.event(
        {
            "type": "app_mention",
            "channel": "C0SANDBOX",
            "user": "U0SANDBOX",
            "ts": ts,
            "text": f"<@U0SANDBOXBOT> {DISCOUNT}",
        }
    )
    [reply] = bot.wait_api("chat.postEphemeral", since=since)
    assert reply.params["thread_ts"] == ts and reply.params["user"] == "U0SANDBOX"
    assert "¥263.00" in text_of(reply.params)
    bot.wait_api("reactions.add", n=2, since=since)
    reactions = [
        (c.method, c.params["name"])
        for c in bot.slack.api_calls[since:]
        if c.method.startswith("reactions.")
    ]
    assert reactions == [
        ("reactions.add", "eyes"),
        ("reactions.remove", "eyes"),
        ("reactions.add", "white_check_mark"),
    ]


def test_a_mention_of_an_unknown_report_ends_with_a_cross(bot: RunningBot) -> None:
    since = len(bot.slack.api_calls)
    bot.event(
        {
            "type": "app_mention",
            "channel": "C0SANDBOX",
            "user": "U0SANDBOX",
            "ts": f"{time.time():.6f}",
            "text": "<@U0SANDBOXBOT> report B99999998",
        }
    )
    [reply] = bot.wait_api("chat.postEphemeral", since=since)
    assert "No report `B99999998`" in reply.params["text"]
    assert bot.wait_api("reactions.add", n=2, since=since)[-1].params["name"] == "x"


# -- the message shortcut -------------------------------------------------------------------


def test_the_shortcut_reads_a_pasted_notification_and_answers_the_clicker(bot: RunningBot) -> None:
    message = {
        "type": "message",
        "ts": "1.1",
        "user": "U0OTHER",
        "text": "",
        "attachments": [
            {"fallback": f"单据 {REPORT} 待审批", "text": f"报销单 {REPORT} 提交人 张三，请审批"}
        ],
    }
    response, url = bot.shortcut(message)
    assert response.status_code == 200
    [post] = bot.slack.wait_for_posts(url, 1, timeout=30)
    body = post.body
    assert post.status == 200 and validate_message(body) == []
    assert body["replace_original"] is False and body["response_type"] == "ephemeral"
    text = text_of(body)
    assert f"Report {REPORT}" in text and "校验测试" in text


def test_the_shortcut_on_a_message_without_ids_says_so(bot: RunningBot) -> None:
    _, url = bot.shortcut({"type": "message", "ts": "1.2", "text": "lunch at noon?"})
    [post] = bot.slack.wait_for_posts(url, 1, timeout=30)
    assert "found no invoice ids" in post.body["text"]


# -- reports and invoice headers --------------------------------------------------------------


def test_a_report_shows_its_header_and_each_invoice_header(bot: RunningBot) -> None:
    command = bot.command(f"report {REPORT}")
    assert command.ack.json()["text"].startswith(":mag: Report B23001249")
    [post] = bot.reply(command)
    body = post.body
    assert post.status == 200 and validate_message(body) == []
    text = text_of(body)
    assert "Report B23001249 · 校验测试" in text and "In approval" in text
    assert "中国联合网络通信有限公司深圳市分公司" in text and "2022-09-09" in text
    assert "Electronic general VAT invoice" in text and "Verified" in text and "¥171.00" in text
    assert "Taxi receipt" in text
    assert buttons(body, "refresh_links") and buttons(body, "share_in_channel")


def test_a_report_by_id_and_in_chinese_words(bot: RunningBot) -> None:
    [post] = bot.reply(bot.command("单据 ID01vmXWPHarK6"))
    assert "Report B23001249" in text_of(post.body)


def test_a_long_report_is_paged_with_show_more(bot: RunningBot, ekuaibao: EkuaibaoStandIn) -> None:
    refs = [
        {
            "invoiceId": f"djg8LshfUkfM00:044031900111:9{i:07d}",
            "invoiceItemId": [],
            "invoiceType": "invoice",
        }
        for i in range(45)
    ]
    ekuaibao.world.reports_by_code["B99000045"] = refs
    [first] = bot.reply(bot.command("report B99000045"))
    assert "Invoices 1–20 of 45" in text_of(first.body)
    [more] = buttons(first.body, "show_more")
    _, url = bot.click("show_more", more["value"])
    [second] = bot.slack.wait_for_posts(url, 1, timeout=30)
    assert (
        "Invoices 21–40 of 45" in text_of(second.body) and second.body["replace_original"] is False
    )
    [more] = buttons(second.body, "show_more")
    _, url = bot.click("show_more", more["value"])
    [third] = bot.slack.wait_for_posts(url, 1, timeout=30)
    assert "Invoices 41–45 of 45" in text_of(third.body) and not buttons(third.body, "show_more")


# -- buttons -------------------------------------------------------------------------------


def test_refresh_works_hours_later_with_new_links(
    bot: RunningBot, ekuaibao_clock: OffsetClock
) -> None:
    [post] = bot.reply(bot.command(DISCOUNT))
    [old_url] = link_urls(post.body)
    ekuaibao_clock.offset = 3 * 3600  # three hours later, on Ekuaibao's side
    assert httpx.get(old_url, timeout=5).status_code == 403  # the old link is dead
    [refresh] = buttons(post.body, "refresh_links")
    response, url = bot.click("refresh_links", refresh["value"])
    assert response.status_code == 200
    [fresh] = bot.slack.wait_for_posts(url, 1, timeout=30)
    assert fresh.body["replace_original"] is True
    [new_url] = link_urls(fresh.body)
    assert new_url != old_url and expires(new_url) >= expires(old_url) + 3 * 3600
    assert httpx.get(new_url, timeout=5).status_code == 200
    assert f"<!date^{expires(new_url)}^" in text_of(fresh.body)


def test_only_the_asker_may_refresh(bot: RunningBot) -> None:
    [post] = bot.reply(bot.command(MEAL))
    [refresh] = buttons(post.body, "refresh_links")
    _, url = bot.click("refresh_links", refresh["value"], user="U0INTRUDER")
    [notice] = bot.slack.wait_for_posts(url, 1, timeout=30)
    assert "Only the person who asked" in notice.body["text"]
    assert notice.body["replace_original"] is False and "http" not in text_of(notice.body["blocks"])


def test_share_posts_a_summary_without_links_and_each_viewer_gets_their_own(
    bot: RunningBot,
) -> None:
    [post] = bot.reply(bot.command(DISCOUNT))
    [share] = buttons(post.body, "share_in_channel")
    _, url = bot.click("share_in_channel", share["value"])
    [shared] = bot.slack.wait_for_posts(url, 1, timeout=30)
    assert shared.body["response_type"] == "in_channel" and shared.body["replace_original"] is False
    assert "/files/" not in text_of(shared.body) and "Signature" not in text_of(shared.body)
    assert "¥263.00" in text_of(shared.body) and "Shared by <@U0SANDBOX>" in text_of(shared.body)
    [get] = buttons(shared.body, "get_my_links")
    _, url = bot.click("get_my_links", get["value"], user="U0COLLEAGUE")
    [mine] = bot.slack.wait_for_posts(url, 1, timeout=30)
    assert mine.body["response_type"] == "ephemeral" and mine.body["replace_original"] is False
    [link] = link_urls(mine.body)
    assert httpx.get(link, timeout=5).status_code == 200
    [refresh] = buttons(mine.body, "refresh_links")
    assert json.loads(refresh["value"])["u"] == "U0COLLEAGUE"


@on_each_broker
def test_a_double_click_makes_one_lookup(bot: RunningBot) -> None:
    [post] = bot.reply(bot.command(MEAL))
    [refresh] = buttons(post.body, "refresh_links")
    _, first = bot.click("refresh_links", refresh["value"], message_ts="1700000000.999")
    _, second = bot.click("refresh_links", refresh["value"], message_ts="1700000000.999")
    bot.slack.wait_for_posts(first, 1, timeout=30)
    time.sleep(1.0)
    assert bot.slack.posts_for(second) == []


# -- language ------------------------------------------------------------------------------


def test_a_chinese_locale_gets_chinese(bot: RunningBot) -> None:
    bot.slack.users["U0ZH"] = {**bot.slack.users["U0SANDBOX"], "id": "U0ZH", "locale": "zh-CN"}
    command = bot.command(DISCOUNT, user_id="U0ZH")
    ack = command.ack.json()["text"]
    [post] = bot.reply(command)
    text = text_of(post.body)
    assert "发票" in ack
    assert "价税合计" in text and "¥263.00" in text and "Refresh links" not in text
