"""Power rests on who Slack says the person is, not on an email alone: guests, people from
other organisations and deactivated staff get no login link, no review card and no
decision. Signed clicks into the running bot; the stand-ins record what went out."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from sandbox.ekuaibao import APPROVER_EMAIL, APPROVER_ID, EkuaibaoStandIn
from sandbox.ekuaibao_approver import APPROVER2_EMAIL, APPROVER2_ID, approval_event
from sandbox.slack import SlackStandIn
from tests.integration.harness import RunningBot, start_bot
from tests.integration.test_decide import card_for, confirm, locate, new_report, open_modal
from tests.integration.test_review import TOKEN, click, send, texts_of, wait_for

pytestmark = pytest.mark.timeout(240)
APPROVER_SLACK, APPROVER_DM = "U0APPROVER", "D0APPROVER"
#: A guest whose email is that of a current approver.
GUEST_SLACK, GUEST_DM = "U0GUEST", "D0GUEST"
#: Someone from another organisation (Slack Connect) with the approver's email.
OUTSIDER_SLACK, OUTSIDER_DM = "U0OUTSIDER", "D0OUTSIDER"
NOT_MEMBER = "Only full members of this Slack workspace"


@pytest.fixture(scope="module")
def bot(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningBot]:
    slack.add_user(APPROVER_SLACK, APPROVER_EMAIL)
    slack.add_user(GUEST_SLACK, APPROVER2_EMAIL, is_restricted=True)
    slack.add_user(OUTSIDER_SLACK, APPROVER_EMAIL, is_stranger=True, team_id="T0OTHER")
    ekuaibao.approvals.process_delay_s = 0.3
    running = start_bot(
        ekuaibao,
        slack,
        tmp_path_factory.mktemp("identity"),
        broker=None,
        EKUAIBAO_EVENTS_TOKEN=TOKEN,
        APPROVALS_IN_SLACK="true",
        APPROVALS_INTERVAL_S="1",
        BOT_LANGUAGE="en",
    )
    running.extra_secrets.append(TOKEN)
    yield running
    running.stop()


def wait_for_log(bot: RunningBot, needle: str) -> bool:
    return wait_for(lambda: needle in bot.log(), what=needle)


def test_a_guest_gets_no_card_and_no_login_link(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    flow_id, _ = new_report(ekuaibao, [APPROVER2_ID])
    send(bot, ekuaibao, approval_event(ekuaibao.world, "backlog.approving", flow_id, APPROVER2_ID))
    wait_for_log(bot, f"Slack user {GUEST_SLACK} may not receive review cards here: guest")
    assert not slack.messages_in(GUEST_DM)  # the staff email matched, the person did not

    links = len(ekuaibao.calls_to("getProvisionalAuth"))
    value = json.dumps({"f": flow_id})
    url = click(bot, "review_open", value, GUEST_SLACK, GUEST_DM, "1.1")
    [answer] = slack.wait_for_posts(url, 1, timeout=20)
    assert NOT_MEMBER in answer.body["text"] and "ask your Slack admin" in answer.body["text"]
    assert len(ekuaibao.calls_to("getProvisionalAuth")) == links
    assert "identity user=U0GUEST for=open reports in Ekuaibao outcome=refused" in bot.log()


def test_deactivated_staff_get_no_login_link_after_a_cached_lookup(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    flow_id, code = new_report(ekuaibao, [APPROVER_ID])
    [listing] = bot.reply(bot.command("review", user_id=APPROVER_SLACK))  # staff now cached
    assert code in texts_of(listing.body)
    [record] = [s for s in ekuaibao.world.staff if s["id"] == APPROVER_ID]
    record["active"] = False  # 停用 in Ekuaibao a minute later
    try:
        links = len(ekuaibao.calls_to("getProvisionalAuth"))
        value = json.dumps({"f": flow_id})
        url = click(bot, "review_open", value, APPROVER_SLACK, APPROVER_DM, "1.2")
        [answer] = slack.wait_for_posts(url, 1, timeout=20)
        assert "not an active Ekuaibao" in answer.body["text"]
        assert len(ekuaibao.calls_to("getProvisionalAuth")) == links
    finally:
        record["active"] = True
    url = click(bot, "review_open", json.dumps({"f": flow_id}), APPROVER_SLACK, APPROVER_DM, "1.3")
    [answer] = slack.wait_for_posts(url, 1, timeout=20)
    assert "Open" in answer.body["text"]  # active again: the link comes at once
    assert ekuaibao.calls_to("getProvisionalAuth")[-1].body["uid"] == APPROVER_ID


def test_someone_from_another_organisation_cannot_decide(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    flow_id, _ = new_report(ekuaibao, [APPROVER_ID])
    card = locate(slack, card_for(bot, ekuaibao, slack, flow_id, APPROVER_ID), APPROVER_DM)
    forwarded = {**card, "channel": OUTSIDER_DM}
    view = open_modal(bot, slack, forwarded, "decide_approve", OUTSIDER_SLACK)
    assert NOT_MEMBER in json.dumps(view) and "submit" not in view
    crafted = {**view, "callback_id": "decide_approve", "submit": {"type": "plain_text"}}
    assert confirm(bot, crafted, OUTSIDER_SLACK).status_code == 200
    wait_for_log(bot, "outcome=refused: member of another organisation")
    assert not [s for s in ekuaibao.approvals.submits if flow_id in s.flow_ids]
    assert ekuaibao.world.flows[flow_id]["state"] == "approving"
