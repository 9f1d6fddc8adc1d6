"""The review comes to the approver: Ekuaibao's approval messages over real HTTP into the
running bot, its worker reading the stand-in Ekuaibao, cards in the stand-in Slack's DMs."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.ekuaibao import (
    APPROVER_EMAIL,
    APPROVER_ID,
    REPORT_ID,
    STRANGER_EMAIL,
    STRANGER_ID,
    SUBMITTER_ID,
    EkuaibaoStandIn,
)
from sandbox.ekuaibao_approver import (
    APPROVER2_EMAIL,
    APPROVER2_ID,
    DEPARTMENT_NAME,
    TEMPLATE_NAME,
    UNMAPPED_ID,
    approval_event,
)
from sandbox.signing import block_action, event, event_callback
from sandbox.slack import SlackStandIn
from tests.integration.harness import RunningBot, start_bot, wait_for

TOKEN = secrets.token_urlsafe(24)
APPROVER_SLACK, APPROVER2_SLACK, STRANGER_SLACK = "U0APPROVER", "U0APPROVER2", "U0STRANGER"
APPROVER_DM, APPROVER2_DM = "D0APPROVER", "D0APPROVER2"


@pytest.fixture(scope="module")
def bot(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningBot]:
    slack.add_user(APPROVER_SLACK, APPROVER_EMAIL.upper())  # Slack keeps the case people typed
    slack.add_user(APPROVER2_SLACK, APPROVER2_EMAIL)
    slack.add_user(STRANGER_SLACK, STRANGER_EMAIL)
    running = start_bot(
        ekuaibao,
        slack,
        tmp_path_factory.mktemp("review"),
        broker=None,
        EKUAIBAO_EVENTS_TOKEN=TOKEN,
        NOTIFY_SUBMITTERS="true",
        BOT_LANGUAGE="en",
    )
    running.extra_secrets.append(TOKEN)
    yield running
    running.stop()
    assert TOKEN not in running.log()
    assert "invalid_blocks" not in running.log()  # every card, list and view was valid


def events_url(bot: RunningBot, token: str = TOKEN) -> str:
    return f"http://127.0.0.1:{bot.port}/ekuaibao/events/{token}"


def send(bot: RunningBot, ekuaibao: EkuaibaoStandIn, body: dict[str, Any]) -> None:
    delivery = ekuaibao.approver.send(events_url(bot), body)
    assert delivery.status == 204, delivery
    assert delivery.elapsed_ms < 1000


def dm(slack: SlackStandIn, channel: str, since: int = 0) -> list[dict[str, Any]]:
    return slack.messages_in(channel)[since:]


def posts_to(slack: SlackStandIn, channel: str) -> list[Any]:
    return [c for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == channel]


def texts_of(message: dict[str, Any]) -> str:
    parts: list[str] = [message.get("text", "")]
    for block in message.get("blocks") or []:
        if isinstance(block.get("text"), dict):
            parts.append(block["text"]["text"])
        for field in block.get("fields") or []:
            parts.append(field["text"])
        for element in block.get("elements") or []:
            if isinstance(element.get("text"), dict):
                parts.append(element["text"]["text"])
            elif isinstance(element.get("text"), str):
                parts.append(element["text"])
    return "\n".join(parts)


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for block in message.get("blocks") or []:
        for element in [*(block.get("elements") or []), block.get("accessory") or {}]:
            if element.get("type") == "button" and "value" in element:
                found[element["action_id"]] = element
    return found


def click(bot: RunningBot, action_id: str, value: str, user: str, channel: str, ts: str) -> str:
    url = bot.slack.new_response_url()
    body, headers = block_action(
        bot.secret, action_id, value, url, user=user, channel=channel, message_ts=ts
    )
    assert httpx.post(bot.events_url, content=body, headers=headers, timeout=10).status_code == 200
    return url


def new_report(
    ekuaibao: EkuaibaoStandIn, approvers: list[str], invoices: int = 3
) -> tuple[str, str]:
    n = secrets.randbelow(9000) + 1000
    flow_id, code = f"ID01rEvIeW{n}", f"B2399{n}"
    ekuaibao.approver.add_report(flow_id, code, approvers=approvers, invoices=invoices)
    return flow_id, code


# -- the endpoint ------------------------------------------------------------------------


def test_only_the_right_token_opens_the_path(bot: RunningBot, ekuaibao: EkuaibaoStandIn) -> None:
    body = approval_event(ekuaibao.world, "backlog.approving", REPORT_ID, APPROVER_ID)
    before = ekuaibao.arrivals
    for token in ("x" * 32, TOKEN[:-1], TOKEN + "x", ""):
        wrong = httpx.post(events_url(bot, token), json=body, timeout=5)
        assert wrong.status_code == 404 and wrong.text == "Not Found"
    unknown = httpx.post(f"http://127.0.0.1:{bot.port}/nothing/here", json=body, timeout=5)
    assert unknown.status_code == 404 and unknown.text == "Not Found"  # the same, byte for byte
    assert httpx.get(events_url(bot), timeout=5).status_code == 405
    form = httpx.post(events_url(bot), data={"a": "b"}, timeout=5)
    assert form.status_code == 415
    huge = httpx.post(events_url(bot), json={**body, "pad": "x" * 20_000}, timeout=5)
    assert huge.status_code == 413
    not_object = httpx.post(
        events_url(bot), content=b"[1,2]", headers={"Content-Type": "application/json"}, timeout=5
    )
    assert not_object.status_code == 400
    time.sleep(1.0)
    assert ekuaibao.arrivals == before  # nothing was queued, so nothing was read
    assert TOKEN not in bot.log()


# -- the card ----------------------------------------------------------------------------


def test_the_card_reaches_the_approver_field_by_field(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    started = len(dm(slack, APPROVER_DM))
    payload = approval_event(ekuaibao.world, "backlog.approving", REPORT_ID, APPROVER_ID)
    payload["userInfo"]["email"] = STRANGER_EMAIL  # the payload's email is never used
    send(bot, ekuaibao, payload)
    [card] = wait_for(lambda: dm(slack, APPROVER_DM, started), what="the card")
    assert not slack.messages_in("D0STRANGER")
    blocks = card["blocks"]
    assert len(blocks) <= 50
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"] == ":inbox_tray: B23001249 · 校验测试"
    fields = {f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in blocks[1]["fields"]}
    assert fields["*Submitter*"] == "沙盒用户"
    assert fields["*Department*"] == DEPARTMENT_NAME
    assert fields["*Template*"] == TEMPLATE_NAME
    assert fields["*Submitted*"].startswith("<!date^1702629998^")
    assert fields["*Waiting at*"] == "部门经理审批"
    assert fields["*Expense total*"] == "¥117,354.32"
    checks = blocks[2]["text"]["text"]
    assert "its invoices add up to" in checks and "off" in checks  # the sample does not add up
    # Ekuaibao's risk flags: counted here, and shown on the invoice they are about
    assert "1 invoice(s) flagged by Ekuaibao's risk check" in checks
    flagged = [b for b in blocks if "risk check flags this invoice" in json.dumps(b)]
    assert len(flagged) == 1 and ekuaibao.world.risk_labels[REPORT_ID]["details"][0]["riskTags"][0][
        "invoiceId"
    ] in json.dumps(flagged[0])
    assert "suspected duplicate invoice (存在疑似发票重复)" in json.dumps(
        flagged[0], ensure_ascii=False
    )
    refs = ekuaibao.world.reports_by_id[REPORT_ID]
    notes = blocks[3]["elements"][0]["text"]
    assert f"Invoices 1–{len(refs)} of {len(refs)}" in notes and "<!date^" in notes
    shown = texts_of(card)
    for ref in refs:
        assert ref["invoiceId"] in shown
    links = [
        e["url"]
        for b in blocks
        for e in [b.get("accessory") or {}, *(b.get("elements") or [])]
        if isinstance(e, dict) and e.get("url")
    ]
    assert links and all(url in ekuaibao.signed_urls_served() for url in links)
    # the taxi receipt's photo beside its invoice, freshly signed
    pictures = [b["accessory"] for b in blocks if (b.get("accessory") or {}).get("type") == "image"]
    assert len(pictures) == 1 and pictures[0]["image_url"] in ekuaibao.signed_urls_served()
    assert set(buttons(card)) == {"review_refresh", "review_open"}  # no Show more: all shown
    assert json.loads(buttons(card)["review_open"]["value"]) == {"f": REPORT_ID}
    # the audit line follows the post's answer: wait for it, bounded
    deadline = time.monotonic() + 5
    while "outcome=card posted" not in bot.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "audit" in bot.log() and "outcome=card posted" in bot.log()


def test_a_resent_event_is_handled_once(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    flow_id, _ = new_report(ekuaibao, [APPROVER2_ID])
    body = approval_event(ekuaibao.world, "backlog.approving", flow_id, APPROVER2_ID)
    send(bot, ekuaibao, body)
    wait_for(lambda: [m for m in dm(slack, APPROVER2_DM) if flow_id in json.dumps(m)])
    calls = len(ekuaibao.calls)
    for _ in range(3):  # the admin's retry button
        send(bot, ekuaibao, body)
    wait_for(
        lambda: (
            bot.log().count(f"repeated Ekuaibao event backlog.approving for report {flow_id}") == 3
        )
    )
    assert len([m for m in dm(slack, APPROVER2_DM) if flow_id in json.dumps(m)]) == 1
    assert len(ekuaibao.calls) == calls


@pytest.mark.parametrize(
    "who, why",
    [(STRANGER_ID, "not an approver"), (SUBMITTER_ID, "the submitter"), ("x:y", "unknown")],
)
def test_forged_events_send_nothing(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, who: str, why: str
) -> None:
    flow_id, _ = new_report(ekuaibao, [APPROVER2_ID])
    posted = len(slack.calls_to("chat.postMessage"))
    send(bot, ekuaibao, approval_event(ekuaibao.world, "backlog.approving", flow_id, who))
    wait_for(lambda: f"report {flow_id} names {who}, who is not a current approver" in bot.log())
    forged_flow = approval_event(ekuaibao.world, "freeflow.remind", "ID01nOsUcHfLoW", APPROVER_ID)
    send(bot, ekuaibao, forged_flow)
    time.sleep(0.5)
    assert len(slack.calls_to("chat.postMessage")) == posted, why


def test_a_stale_event_for_someone_no_longer_approving_sends_nothing(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    flow_id, _ = new_report(ekuaibao, [APPROVER_ID])
    ekuaibao.approver.move_on(flow_id, [APPROVER2_ID])  # approved before the message arrived
    posted = len(posts_to(slack, APPROVER_SLACK))
    send(bot, ekuaibao, approval_event(ekuaibao.world, "backlog.approving", flow_id, APPROVER_ID))
    wait_for(lambda: f"report {flow_id} names {APPROVER_ID}, who is not" in bot.log())
    assert len(posts_to(slack, APPROVER_SLACK)) == posted


def test_an_approver_without_slack_gets_one_admin_line(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    flow_id, _ = new_report(ekuaibao, [UNMAPPED_ID])
    posted = len(slack.calls_to("chat.postMessage"))
    send(bot, ekuaibao, approval_event(ekuaibao.world, "backlog.approving", flow_id, UNMAPPED_ID))
    line = f"admin: no Slack user has the email of Ekuaibao staff {UNMAPPED_ID}"
    wait_for(lambda: line in bot.log())
    time.sleep(0.3)
    assert bot.log().count(line) == 1
    assert len(slack.calls_to("chat.postMessage")) == posted
    assert "no.slack@example.com" not in bot.log()  # emails are personal data


# -- keeping it true ---------------------------------------------------------------------


def _card_of(slack: SlackStandIn, channel: str, flow_id: str) -> dict[str, Any]:
    return wait_for(
        lambda: next(
            (m for m in dm(slack, channel) if flow_id in json.dumps(m) and "thread_ts" not in m),
            None,
        ),
        what=f"the card of {flow_id}",
    )


def test_the_card_follows_the_report(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    flow_id, code = new_report(ekuaibao, [APPROVER_ID])
    send(bot, ekuaibao, approval_event(ekuaibao.world, "backlog.approving", flow_id, APPROVER_ID))
    first = _card_of(slack, APPROVER_DM, flow_id)
    assert "review_refresh" in buttons(first)

    # a reminder: a reply in the card's thread
    send(bot, ekuaibao, approval_event(ekuaibao.world, "freeflow.remind", flow_id, APPROVER_ID))
    reply = wait_for(
        lambda: next((m for m in dm(slack, APPROVER_DM) if m.get("thread_ts") == first["ts"]), None)
    )
    assert reply["text"].startswith(":bell: Reminder")

    # approved: the card says so, where it went, and has no buttons left; the next one gets it
    ekuaibao.approver.move_on(flow_id, [APPROVER2_ID], stage="财务审批")
    send(
        bot,
        ekuaibao,
        approval_event(
            ekuaibao.world, "backlog.approving", flow_id, APPROVER2_ID, node_id="FLOW:2:2"
        ),
    )
    updated = wait_for(
        lambda: (m := slack.message(APPROVER_DM, first["ts"])) and "moved on" in texts_of(m) and m
    )
    assert updated["text"] == f"Report {code} no longer waits for you"
    assert "It was approved and moved on." in texts_of(updated)
    assert "Now at: *财务审批*." in texts_of(updated)
    assert not buttons(updated)
    second = _card_of(slack, APPROVER2_DM, flow_id)
    fields = texts_of(second)
    assert "财务审批" in fields

    # rejected: the second card closes, and the submitter hears it (NOTIFY_SUBMITTERS)
    ekuaibao.approver.move_on(
        flow_id, [], state="rejected", action="freeflow.reject", comment="发票<重复>"
    )
    sandbox_dm = len(dm(slack, "D0SANDBOX"))
    send(bot, ekuaibao, approval_event(ekuaibao.world, "flow.rejected", flow_id, SUBMITTER_ID))
    closed = wait_for(
        lambda: (m := slack.message(APPROVER2_DM, second["ts"])) and "rejected" in texts_of(m) and m
    )
    assert "Nothing left to do here." in texts_of(closed) and not buttons(closed)
    told = wait_for(lambda: dm(slack, "D0SANDBOX", sandbox_dm))
    assert f"Your report *{code}*" in told[0]["text"] and "rejected" in told[0]["text"]
    assert "Comment: 发票&lt;重复&gt;" in told[0]["text"]


def test_a_deleted_report_closes_its_card(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    flow_id, code = new_report(ekuaibao, [APPROVER2_ID])
    send(bot, ekuaibao, approval_event(ekuaibao.world, "backlog.approving", flow_id, APPROVER2_ID))
    card = _card_of(slack, APPROVER2_DM, flow_id)
    ekuaibao.approver.delete_flow(flow_id)
    send(bot, ekuaibao, approval_event(ekuaibao.world, "freeflow.delete", flow_id, APPROVER2_ID))
    closed = wait_for(
        lambda: (m := slack.message(APPROVER2_DM, card["ts"])) and "deleted" in texts_of(m) and m
    )
    assert code in texts_of(closed) and not buttons(closed)


def test_sixty_invoices_fit_with_show_more(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    flow_id, _code = new_report(ekuaibao, [APPROVER2_ID], invoices=60)
    send(bot, ekuaibao, approval_event(ekuaibao.world, "backlog.approving", flow_id, APPROVER2_ID))
    card = _card_of(slack, APPROVER2_DM, flow_id)
    assert len(card["blocks"]) <= 50
    assert "Invoices 1–20 of 60" in texts_of(card)
    assert ":white_check_mark: its invoices add up to it" in texts_of(card)
    more = buttons(card)["review_more"]
    click(bot, "review_more", more["value"], APPROVER2_SLACK, APPROVER2_DM, card["ts"])
    page = wait_for(
        lambda: next((m for m in dm(slack, APPROVER2_DM) if m.get("thread_ts") == card["ts"]), None)
    )
    assert "Invoices 21–40 of 60" in texts_of(page) and len(page["blocks"]) <= 50
    assert json.loads(buttons(page)["review_more"]["value"]) == {"f": flow_id, "p": 2}


def test_refresh_and_open_are_the_approvers_only(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    flow_id, _ = new_report(ekuaibao, [APPROVER2_ID])
    send(bot, ekuaibao, approval_event(ekuaibao.world, "backlog.approving", flow_id, APPROVER2_ID))
    card = _card_of(slack, APPROVER2_DM, flow_id)
    old_links = [u for u in ekuaibao.signed_urls_served()]
    value = buttons(card)["review_refresh"]["value"]
    updates = len(slack.calls_to("chat.update"))
    click(bot, "review_refresh", value, APPROVER2_SLACK, APPROVER2_DM, card["ts"])
    wait_for(lambda: len(slack.calls_to("chat.update")) > updates)
    fresh = slack.message(APPROVER2_DM, card["ts"])
    assert fresh is not None and fresh["blocks"] != card["blocks"]
    assert len(ekuaibao.signed_urls_served()) > len(old_links)

    links = len(ekuaibao.approver.links_issued)
    url = click(bot, "review_open", value, APPROVER2_SLACK, APPROVER2_DM, card["ts"])
    [answer] = slack.wait_for_posts(url, 1, timeout=20)
    assert answer.body["response_type"] == "ephemeral" and answer.body["replace_original"] is False
    assert len(ekuaibao.approver.links_issued) == links + 1
    token = ekuaibao.approver.links_issued[-1]
    assert token in answer.body["text"] and token not in bot.log()
    [call] = ekuaibao.calls_to("getProvisionalAuth")[-1:]
    assert call.body["uid"] == APPROVER2_ID and call.body["authType"] == "CODE"

    stranger = click(bot, "review_open", value, STRANGER_SLACK, "D0STRANGER", card["ts"])
    [refused] = slack.wait_for_posts(stranger, 1, timeout=20)
    assert "no longer waits for you" in refused.body["text"]
    assert len(ekuaibao.approver.links_issued) == links + 1


# -- what waits for me ---------------------------------------------------------------------


def test_the_queue_and_its_review_button(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    flow_id, code = new_report(ekuaibao, [APPROVER_ID])
    command = bot.command("review", user_id=APPROVER_SLACK)
    assert command.ack.json()["text"].startswith(":mag: Looking for reports waiting for you")
    [listing] = bot.reply(command)
    text = texts_of(listing.body)
    assert code in text and "沙盒用户" in text and "waiting since <!date^" in text
    first = listing.body["blocks"][1]
    assert code in first["text"]["text"]  # newest first
    review = first["accessory"]
    assert review["action_id"] == "review_card_0" and json.loads(review["value"]) == {"f": flow_id}

    url = click(bot, "review_card_0", review["value"], APPROVER_SLACK, "C0SANDBOX", "1.1")
    [posted] = slack.wait_for_posts(url, 1, timeout=20)
    assert f"The review card for {code} is in your DM" in posted.body["text"]
    _card_of(slack, APPROVER_DM, flow_id)

    chinese = bot.command("待审批", user_id=APPROVER_SLACK)
    assert chinese.ack.status_code == 200 and bot.reply(chinese)

    nobody = bot.command("review", user_id="U0SANDBOX")  # the submitter: staff, nothing waits
    assert "Nothing waits for your review" in bot.reply(nobody)[0].body["text"]
    slack.add_user("U0OUTSIDER", "outsider@example.com")
    outsider = bot.command("review", user_id="U0OUTSIDER")
    assert "not an active Ekuaibao" in bot.reply(outsider)[0].body["text"]


def test_a_dm_saying_review_and_the_home_tab(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    _flow_id, code = new_report(ekuaibao, [APPROVER_ID])
    before = len(dm(slack, APPROVER_DM))
    envelope = event_callback(
        {
            "type": "message",
            "channel_type": "im",
            "channel": APPROVER_DM,
            "user": APPROVER_SLACK,
            "text": "review",
            "ts": "1700000001.000100",
        }
    )
    body, headers = event(bot.secret, envelope)
    assert httpx.post(bot.events_url, content=body, headers=headers, timeout=5).status_code == 200
    listing = wait_for(lambda: dm(slack, APPROVER_DM, before))
    assert code in texts_of(listing[0])

    opened = {"type": "app_home_opened", "user": APPROVER_SLACK, "tab": "home", "channel": "D1"}
    for _ in range(3):  # opened three times within the minute: built once
        body, headers = event(bot.secret, event_callback(opened))
        assert (
            httpx.post(bot.events_url, content=body, headers=headers, timeout=5).status_code == 200
        )
    view = wait_for(lambda: slack.home_views.get(APPROVER_SLACK))
    assert view["type"] == "home" and code in json.dumps(view, ensure_ascii=False)
    time.sleep(1.0)
    assert len(slack.calls_to("views.publish")) == 1
