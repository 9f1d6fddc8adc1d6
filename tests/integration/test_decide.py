"""Deciding from the review card, through real HTTP: signed clicks and modal submissions
into the running bot, its worker acting in the stand-in Ekuaibao (which queues the work
and moves the report), and the card in the stand-in Slack telling the truth."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.ekuaibao import (
    APPROVER_EMAIL,
    APPROVER_ID,
    STRANGER_EMAIL,
    SUBMITTER_ID,
    EkuaibaoStandIn,
)
from sandbox.ekuaibao_approver import APPROVER2_EMAIL, APPROVER2_ID, approval_event
from sandbox.signing import block_action, interaction, view_submission_payload
from sandbox.slack import SlackStandIn
from tests.integration.harness import RunningBot, start_bot
from tests.integration.test_review import TOKEN, buttons, send, texts_of, wait_for

pytestmark = pytest.mark.timeout(240)
APPROVER_SLACK, APPROVER2_SLACK, STRANGER_SLACK = "U0APPROVER", "U0APPROVER2", "U0STRANGER"
APPROVER_DM, STRANGER_DM = "D0APPROVER", "D0STRANGER"
INTERVAL_S = 1.0
#: The bot's window for one click: short, so a test can click again past it.
DOUBLE_CLICK_S = 0.5


@pytest.fixture(scope="module")
def bot(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningBot]:
    slack.add_user(APPROVER_SLACK, APPROVER_EMAIL)
    slack.add_user(APPROVER2_SLACK, APPROVER2_EMAIL)
    slack.add_user(STRANGER_SLACK, STRANGER_EMAIL)
    running = start_deciding_bot(ekuaibao, slack, tmp_path_factory.mktemp("decide"))
    yield running
    running.stop()
    assert "invalid_blocks" not in running.log()
    assert "invalid_arguments" not in running.log()  # every modal was valid


def start_deciding_bot(ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, state: Path) -> RunningBot:
    """The bot with deciding in Slack on, its tenant slot short, Ekuaibao slow to process."""
    ekuaibao.approvals.process_delay_s = 0.3
    running = start_bot(
        ekuaibao,
        slack,
        state,
        broker=None,
        EKUAIBAO_EVENTS_TOKEN=TOKEN,
        APPROVALS_IN_SLACK="true",
        APPROVALS_INTERVAL_S=str(INTERVAL_S),
        BOT_LANGUAGE="en",
        DOUBLE_CLICK_S=str(DOUBLE_CLICK_S),
    )
    running.extra_secrets.append(TOKEN)
    return running


def new_report(ekuaibao: EkuaibaoStandIn, approvers: list[str]) -> tuple[str, str]:
    n = secrets.randbelow(9000) + 1000
    flow_id, code = f"ID01dEcIdE{n}", f"B2398{n}"
    ekuaibao.approver.add_report(flow_id, code, approvers=approvers, invoices=1)
    return flow_id, code


def card_for(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, flow_id: str, staff: str
) -> dict[str, Any]:
    send(bot, ekuaibao, approval_event(ekuaibao.world, "backlog.approving", flow_id, staff))
    channel = "D0APPROVER" if staff == APPROVER_ID else "D0APPROVER2"

    def posted() -> dict[str, Any] | None:
        return next((m for m in slack.messages_in(channel) if flow_id in json.dumps(m)), None)

    return wait_for(posted, what="the card")


def submits_for(ekuaibao: EkuaibaoStandIn, flow_id: str) -> list[Any]:
    return [s for s in ekuaibao.approvals.submits if flow_id in s.flow_ids]


def open_modal(
    bot: RunningBot, slack: SlackStandIn, card: dict[str, Any], action: str, user: str
) -> dict[str, Any]:
    """Click `action` on the card; returns the modal once the worker filled it in."""
    before = set(slack.views)
    trigger = slack.new_trigger()
    body, headers = block_action(
        bot.secret,
        action,
        buttons(card)[action]["value"],
        slack.new_response_url(),
        user=user,
        channel=card.get("channel", APPROVER_DM),
        message_ts=card["ts"],
        trigger_id=trigger,
    )
    assert httpx.post(bot.events_url, content=body, headers=headers, timeout=10).status_code == 200
    view_id = wait_for(lambda: next(iter(set(slack.views) - before), None), what="a modal")

    def filled() -> dict[str, Any] | None:
        view = slack.view(view_id)
        return view if view and "Checking" not in json.dumps(view) else None

    return wait_for(filled, what="the modal filled in")


def confirm(
    bot: RunningBot, view: dict[str, Any], user: str, values: dict[str, Any] | None = None
) -> httpx.Response:
    payload = view_submission_payload(view, values or {}, user=user)
    body, headers = interaction(bot.secret, payload)
    return httpx.post(bot.events_url, content=body, headers=headers, timeout=10)


def text_input(block: str, value: str) -> dict[str, Any]:
    return {block: {"text": {"type": "plain_text_input", "value": value}}}


def card_now(slack: SlackStandIn, card: dict[str, Any]) -> str:
    message = slack.message(card["channel"], card["ts"]) if card.get("channel") else None
    return texts_of(message or {})


def locate(slack: SlackStandIn, card: dict[str, Any], channel: str) -> dict[str, Any]:
    return {**card, "channel": channel}


# -- the happy paths ---------------------------------------------------------------------


def test_approve_from_the_card(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    flow_id, code = new_report(ekuaibao, [APPROVER_ID])
    card = locate(slack, card_for(bot, ekuaibao, slack, flow_id, APPROVER_ID), APPROVER_DM)
    assert {"decide_approve", "decide_reject", "decide_ask"} <= set(buttons(card))
    value = json.loads(buttons(card)["decide_approve"]["value"])
    assert set(value) == {"f", "n"} and value["f"] == flow_id  # ids only
    view = open_modal(bot, slack, card, "decide_approve", APPROVER_SLACK)
    shown = json.dumps(view, ensure_ascii=False)
    assert code in shown and "¥" in shown and "1 invoice" in shown and view["submit"]
    answer = confirm(bot, view, APPROVER_SLACK, text_input("comment", "looks right 好"))
    assert answer.status_code == 200 and answer.text in ("", "{}")
    wait_for(lambda: "Approved" in card_now(slack, card), what="the outcome")
    final = card_now(slack, card)
    assert "✅ *Approved* by you at <!date^" in final and "now at 出纳支付" in final
    [submit] = submits_for(ekuaibao, flow_id)
    assert submit.approve_id == APPROVER_ID
    assert submit.action == {"name": "freeflow.agree", "comment": "looks right 好"}
    assert ekuaibao.world.flows[flow_id]["state"] == "paying"
    # "Approving…" came first, without buttons, and never "Approved" before Ekuaibao did
    updates = [
        c.params
        for c in slack.calls_to("chat.update")
        if c.params.get("ts") == card["ts"] and c.params.get("channel") == APPROVER_DM
    ]
    busy = [u for u in updates if "Approving" in json.dumps(u)]
    assert busy and not any(b.get("type") == "actions" for b in busy[0]["blocks"])
    # the audit line is written once the card shows the outcome
    wait_for(lambda: "outcome=confirmed approved" in bot.log(), what="the audit line")
    log = bot.log()
    assert f"decision flow={flow_id}" in log
    assert "comment_chars=13" in log and "looks right" not in log


def test_reject_needs_a_reason_then_goes_back(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    flow_id, _ = new_report(ekuaibao, [APPROVER_ID])
    card = locate(slack, card_for(bot, ekuaibao, slack, flow_id, APPROVER_ID), APPROVER_DM)
    view = open_modal(bot, slack, card, "decide_reject", APPROVER_SLACK)
    blocks = {b.get("block_id") for b in view["blocks"]}
    assert {"reason", "reject_to", "resubmit"} <= blocks
    empty = confirm(bot, view, APPROVER_SLACK, text_input("reason", "  "))
    assert empty.json() == {
        "response_action": "errors",
        "errors": {"reason": "Please say why, so the submitter can fix it."},
    }
    time.sleep(0.5)
    assert not submits_for(ekuaibao, flow_id)  # nothing went anywhere
    values = {
        **text_input("reason", "发票抬头不对"),
        "resubmit": {
            "pick": {"type": "radio_buttons", "selected_option": {"value": "TO_REJECTOR"}}
        },
        "reject_to": {"pick": {"type": "static_select", "selected_option": {"value": "submitter"}}},
    }
    assert confirm(bot, view, APPROVER_SLACK, values).status_code == 200
    wait_for(lambda: "Rejected" in card_now(slack, card), what="the rejection")
    [submit] = submits_for(ekuaibao, flow_id)
    assert submit.action == {
        "name": "freeflow.reject",
        "comment": "发票抬头不对",
        "resubmitMethod": "TO_REJECTOR",
    }
    assert ekuaibao.world.flows[flow_id]["state"] == "rejected"
    assert "sent back to The submitter" in card_now(slack, card)


def test_ask_the_submitter_comments_without_deciding(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    flow_id, _ = new_report(ekuaibao, [APPROVER_ID])
    card = locate(slack, card_for(bot, ekuaibao, slack, flow_id, APPROVER_ID), APPROVER_DM)
    view = open_modal(bot, slack, card, "decide_ask", APPROVER_SLACK)
    assert confirm(bot, view, APPROVER_SLACK, text_input("question", "Which trip?")).status_code
    wait_for(lambda: any(c[0] == flow_id for c in ekuaibao.approvals.comments))
    [(_, staff, text)] = [c for c in ekuaibao.approvals.comments if c[0] == flow_id]
    assert staff == APPROVER_ID and text == f"{{{SUBMITTER_ID}}} Which trip?"
    assert not submits_for(ekuaibao, flow_id)
    assert ekuaibao.world.flows[flow_id]["state"] == "approving"
    # the card says so, when and by whom, and keeps its decision buttons
    wait_for(lambda: "Question sent to the submitter" in card_now(slack, card), what="the note")
    now = slack.message(APPROVER_DM, card["ts"]) or {}
    assert f"by <@{APPROVER_SLACK}> at <!date^" in texts_of(now)
    assert {"decide_approve", "decide_reject", "decide_ask"} <= set(buttons(now))


# -- the guard ---------------------------------------------------------------------------


def test_a_forwarded_card_clicked_by_someone_else_sends_nothing(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    flow_id, _ = new_report(ekuaibao, [APPROVER_ID])
    card = locate(slack, card_for(bot, ekuaibao, slack, flow_id, APPROVER_ID), APPROVER_DM)
    forwarded = {**card, "channel": STRANGER_DM}
    view = open_modal(bot, slack, forwarded, "decide_approve", STRANGER_SLACK)
    assert "not a current approver" in json.dumps(view) and "submit" not in view
    # a crafted Confirm with the right ids still sends nothing
    crafted = {**view, "callback_id": "decide_approve", "submit": {"type": "plain_text"}}
    assert confirm(bot, crafted, STRANGER_SLACK).status_code == 200
    wait_for(
        lambda: any("not a current approver" in texts_of(m) for m in slack.messages_in(STRANGER_DM))
    )
    assert not submits_for(ekuaibao, flow_id)
    wait_for(lambda: "outcome=refused: not a current approver" in bot.log(), what="the audit")


def test_a_report_approved_elsewhere_is_not_decided_again(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    flow_id, _ = new_report(ekuaibao, [APPROVER_ID])
    card = locate(slack, card_for(bot, ekuaibao, slack, flow_id, APPROVER_ID), APPROVER_DM)
    view = open_modal(bot, slack, card, "decide_approve", APPROVER_SLACK)
    ekuaibao.approver.move_on(flow_id, [APPROVER2_ID])  # approved in Ekuaibao meanwhile
    assert confirm(bot, view, APPROVER_SLACK).status_code == 200
    wait_for(lambda: f"flow={flow_id}" in bot.log() and "refused: not a current" in bot.log())
    assert not submits_for(ekuaibao, flow_id)


# -- exactly once ------------------------------------------------------------------------


def test_a_double_confirm_decides_once(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    flow_id, _ = new_report(ekuaibao, [APPROVER_ID])
    card = locate(slack, card_for(bot, ekuaibao, slack, flow_id, APPROVER_ID), APPROVER_DM)
    first = open_modal(bot, slack, card, "decide_approve", APPROVER_SLACK)
    time.sleep(DOUBLE_CLICK_S + 0.1)  # past the click de-duplication: a second real modal
    second = open_modal(bot, slack, card, "decide_approve", APPROVER_SLACK)
    assert first["id"] != second["id"]
    for view in (first, second):  # two Confirms at once (two copies of the card)
        assert confirm(bot, view, APPROVER_SLACK).status_code == 200
    wait_for(lambda: "Approved" in card_now(slack, card), what="the outcome")
    wait_for(  # the second Confirm's task has run: nothing more can go to Ekuaibao
        lambda: "ignored: already claimed" in bot.log() or "already decided" in bot.log(),
        what="the second Confirm",
    )
    assert len(submits_for(ekuaibao, flow_id)) == 1


# -- Ekuaibao refusing, and the license ---------------------------------------------------


def test_ekuaibao_refusing_shows_its_reason_and_what_to_do(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    flow_id, _ = new_report(ekuaibao, [APPROVER_ID])
    ekuaibao.approvals.needs_select.add(flow_id)
    card = locate(slack, card_for(bot, ekuaibao, slack, flow_id, APPROVER_ID), APPROVER_DM)
    view = open_modal(bot, slack, card, "decide_approve", APPROVER_SLACK)
    assert confirm(bot, view, APPROVER_SLACK).status_code == 200
    wait_for(lambda: "did not take" in card_now(slack, card), what="the refusal")
    final = slack.message(APPROVER_DM, card["ts"]) or {}
    assert "未选择下级审批人: choose the next approver in Ekuaibao" in texts_of(final)
    assert "review_open" in buttons(final) and "Approved" not in texts_of(final)
    assert len(submits_for(ekuaibao, flow_id)) == 1
    assert ekuaibao.world.flows[flow_id]["state"] == "approving"


def test_without_the_license_there_are_no_buttons(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path_factory: pytest.TempPathFactory
) -> None:
    ekuaibao.approvals.licensed = False
    try:
        unlicensed = start_bot(
            ekuaibao,
            slack,
            tmp_path_factory.mktemp("unlicensed"),
            broker=None,
            EKUAIBAO_EVENTS_TOKEN=TOKEN,
            APPROVALS_IN_SLACK="true",
            BOT_LANGUAGE="en",
        )
        try:
            flow_id, _ = new_report(ekuaibao, [APPROVER_ID])
            card = card_for(unlicensed, ekuaibao, slack, flow_id, APPROVER_ID)
            assert not {"decide_approve", "decide_reject", "decide_ask"} & set(buttons(card))
            assert "review_open" in buttons(card)
            assert "单据审批 is expired" in unlicensed.log()
        finally:
            unlicensed.stop()
    finally:
        ekuaibao.approvals.licensed = True


def test_no_secret_nor_comment_text_in_debug_logs_of_a_decision(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests.integration.test_secrets import assert_no_secret_in

    slack.add_user(APPROVER_SLACK, APPROVER_EMAIL)
    debug = start_bot(
        ekuaibao,
        slack,
        tmp_path_factory.mktemp("decide-debug"),
        broker=None,
        LOG_LEVEL="DEBUG",
        EKUAIBAO_EVENTS_TOKEN=TOKEN,
        APPROVALS_IN_SLACK="true",
        APPROVALS_INTERVAL_S=str(INTERVAL_S),
        BOT_LANGUAGE="en",
    )
    try:
        flow_id, _ = new_report(ekuaibao, [APPROVER_ID])
        card = locate(slack, card_for(debug, ekuaibao, slack, flow_id, APPROVER_ID), APPROVER_DM)
        view = open_modal(debug, slack, card, "decide_approve", APPROVER_SLACK)
        private = "PRIVATE-REMARK-" + secrets.token_hex(4)
        assert confirm(debug, view, APPROVER_SLACK, text_input("comment", private)).status_code
        wait_for(lambda: "Approved" in card_now(slack, card), what="the outcome")
    finally:
        debug.stop()
    log = debug.log()
    assert private not in log  # what the approver wrote stays in Ekuaibao
    assert f"comment_chars={len(private)}" in log
    assert_no_secret_in(log, debug.secret, [], ekuaibao, ("events token", TOKEN))
