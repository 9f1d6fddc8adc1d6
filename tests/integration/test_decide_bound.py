"""A decision is for the node that waits now, for what the approver saw, and only from the
bot: through real HTTP into the running bot and its worker, against the stand-ins."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from celery import Celery

from sandbox.approvals import Node
from sandbox.ekuaibao import APPROVER_EMAIL, APPROVER_ID, EkuaibaoStandIn
from sandbox.slack import SlackStandIn
from tasks.broker.embedded import register
from tasks.celery_app import QUEUE
from tasks.contracts import DECIDE_TASK, Decision
from tasks.ekuaibao.approval_models import parse_flow
from tasks.settings import Settings
from tests.integration.harness import RunningBot
from tests.integration.test_decide import (
    APPROVER_DM,
    APPROVER_SLACK,
    card_for,
    card_now,
    confirm,
    locate,
    new_report,
    open_modal,
    start_deciding_bot,
    submits_for,
    text_input,
)
from tests.integration.test_review import buttons, texts_of, wait_for

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def bot(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningBot]:
    slack.add_user(APPROVER_SLACK, APPROVER_EMAIL)
    running = start_deciding_bot(ekuaibao, slack, tmp_path_factory.mktemp("decide-bound"))
    yield running
    running.stop()
    assert "invalid_blocks" not in running.log()


def dms(slack: SlackStandIn) -> str:
    return "\n".join(texts_of(m) for m in slack.messages_in(APPROVER_DM))


def test_a_stale_confirm_after_asking_does_not_approve_the_next_node(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    """The approver is also the next node's approver. After a question to the submitter
    (a log entry without nextId), two modals are open: the first Confirm approves this
    node, the second must not approve the next one."""
    flow_id, _ = new_report(ekuaibao, [APPROVER_ID])
    ekuaibao.approvals.plans[flow_id] = [Node("财务审批", [APPROVER_ID])]
    card = locate(slack, card_for(bot, ekuaibao, slack, flow_id, APPROVER_ID), APPROVER_DM)
    ask = open_modal(bot, slack, card, "decide_ask", APPROVER_SLACK)
    assert confirm(bot, ask, APPROVER_SLACK, text_input("question", "Which trip?")).status_code
    wait_for(lambda: "Question sent" in card_now(slack, card), what="the question")
    last = ekuaibao.world.flows[flow_id]["logs"][-1]
    assert last["action"] == "freeflow.comment" and "nextId" not in last["attributes"]
    card = {**card, **(slack.message(APPROVER_DM, card["ts"]) or {}), "channel": APPROVER_DM}
    first = open_modal(bot, slack, card, "decide_approve", APPROVER_SLACK)
    copy = {**card, "ts": f"{card['ts']}9"}  # another copy of the card: a second, real modal
    second = open_modal(bot, slack, copy, "decide_approve", APPROVER_SLACK)
    assert first["id"] != second["id"]
    node = ekuaibao.approvals.current_node(flow_id)
    assert confirm(bot, first, APPROVER_SLACK).status_code == 200
    wait_for(lambda: "Approved" in card_now(slack, card), what="the first approval")
    assert ekuaibao.approvals.current_node(flow_id) != node  # now at the next node, theirs
    assert confirm(bot, second, APPROVER_SLACK).status_code == 200
    wait_for(
        lambda: len(submits_for(ekuaibao, flow_id)) > 1 or "already decided" in dms(slack),
        what="the stale Confirm's end",
    )
    assert len(submits_for(ekuaibao, flow_id)) == 1  # one card, one node
    assert ekuaibao.world.flows[flow_id]["state"] == "approving"  # the next node still waits
    for modal in (first, second):  # both were bound to the node that waited then
        assert json.loads(modal["private_metadata"])["n"] == node


def test_a_report_edited_after_the_modal_opened_is_not_approved(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    flow_id, _ = new_report(ekuaibao, [APPROVER_ID])
    card = locate(slack, card_for(bot, ekuaibao, slack, flow_id, APPROVER_ID), APPROVER_DM)
    view = open_modal(bot, slack, card, "decide_approve", APPROVER_SLACK)
    shown = parse_flow({"value": ekuaibao.world.flows[flow_id]})
    assert json.loads(view["private_metadata"])["v"] == shown.version
    ekuaibao.approver.edit_report(flow_id, Decimal("10000.00"))  # raised while it waited
    assert confirm(bot, view, APPROVER_SLACK).status_code == 200
    wait_for(lambda: "changed since you opened it" in card_now(slack, card), what="the redraw")
    now = slack.message(APPROVER_DM, card["ts"]) or {}
    assert "10,000.00" in texts_of(now)  # the card shows the report as it is now
    assert {"decide_approve", "decide_reject"} <= set(buttons(now))  # to decide again
    assert not submits_for(ekuaibao, flow_id)
    assert ekuaibao.world.flows[flow_id]["state"] == "approving"
    assert f"flow={flow_id}" in bot.log() and "outcome=refused: report changed" in bot.log()


def _publish(bot: RunningBot, decision: Decision) -> None:
    """Straight onto the bot's broker, as anyone who can write to it could."""
    register()
    celery = Celery(broker=bot.broker_url)
    try:
        celery.send_task(DECIDE_TASK, args=[decision.model_dump(mode="json")], queue=QUEUE)
    finally:
        celery.close()


def _would_pass(ekuaibao: EkuaibaoStandIn, flow_id: str, **fields: Any) -> Decision:
    """A Confirm the guard would let through, but for its signature."""
    flow = parse_flow({"value": ekuaibao.world.flows[flow_id]})
    values: dict[str, Any] = {
        "step": "decide",
        "what": "approve",
        "user_id": APPROVER_SLACK,
        "flow_id": flow_id,
        "node_id": ekuaibao.approvals.current_node(flow_id),
        "version": flow.version,
        "language": "en",
    }
    return Decision(**{**values, **fields})


def _refusals(bot: RunningBot, flow_id: str, reason: str) -> int:
    lines = bot.log().splitlines()
    return sum(1 for x in lines if f"flow={flow_id} " in x and f"outcome=refused: {reason}" in x)


def test_a_decision_put_on_the_broker_by_someone_else_is_refused(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    flow_id, _ = new_report(ekuaibao, [APPROVER_ID])
    key = Settings(slack_signing_secret=bot.secret).decision_key  # what bot and worker derive
    reads, submits = len(ekuaibao.calls_to("flowDetails")), len(ekuaibao.calls_to("backlog"))
    swapped = _would_pass(ekuaibao, flow_id, user_id="U0SOMEONE").signed(key)
    forged = [
        ("unsigned", _would_pass(ekuaibao, flow_id)),
        ("bad signature", _would_pass(ekuaibao, flow_id).signed(b"guessed" * 5)),
        ("bad signature", swapped.model_copy(update={"user_id": APPROVER_SLACK})),
    ]
    for reason, decision in forged:
        before = _refusals(bot, flow_id, reason)
        _publish(bot, decision)
        wait_for(lambda r=reason, b=before: _refusals(bot, flow_id, r) > b, what=reason)
    assert not submits_for(ekuaibao, flow_id)
    assert len(ekuaibao.calls_to("backlog")) == submits  # no backlog/data, no result
    flow_reads = ekuaibao.calls_to("flowDetails")[reads:]
    assert not [c for c in flow_reads if c.query.get("flowId") == flow_id]  # refused first
    assert "could not be verified" in dms(slack)  # the person it named is told
    # the same task, signed with the shared key, is the bot's own: it approves
    _publish(bot, _would_pass(ekuaibao, flow_id).signed(key))
    wait_for(lambda: submits_for(ekuaibao, flow_id), what="the signed decision")
    assert submits_for(ekuaibao, flow_id)[0].approve_id == APPROVER_ID
