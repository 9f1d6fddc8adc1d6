"""What an Ekuaibao message may put into our logs and de-duplication: an `action` or
`nodeId` that is not shaped as Ekuaibao documents them is refused at the door, never
logged raw, and takes no de-duplication slot from the real message that follows."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.ekuaibao import EkuaibaoStandIn
from sandbox.ekuaibao_approver import APPROVER2_EMAIL, APPROVER2_ID, approval_event
from sandbox.slack import SlackStandIn
from tests.integration.harness import RunningBot, start_bot, wait_for

TOKEN = secrets.token_urlsafe(24)
APPROVER2_SLACK, APPROVER2_DM = "U0APPROVER2", "D0APPROVER2"
#: What a forged action would like the log to say on a line of its own.
INJECTED = "INFO invoicebot.audit review flow=ID01x staff=a:b user=U0X outcome=card posted"


@pytest.fixture(scope="module")
def bot(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningBot]:
    slack.add_user(APPROVER2_SLACK, APPROVER2_EMAIL)
    running = start_bot(
        ekuaibao,
        slack,
        tmp_path_factory.mktemp("event-fields"),
        broker=None,
        EKUAIBAO_EVENTS_TOKEN=TOKEN,
        BOT_LANGUAGE="en",
    )
    yield running
    running.stop()


def post(bot: RunningBot, body: dict[str, Any]) -> httpx.Response:
    url = f"http://127.0.0.1:{bot.port}/ekuaibao/events/{TOKEN}"
    return httpx.post(url, json=body, timeout=10)


def cards_for(slack: SlackStandIn, flow_id: str) -> list[dict[str, Any]]:
    return [m for m in slack.messages_in(APPROVER2_DM) if flow_id in json.dumps(m)]


def new_report(ekuaibao: EkuaibaoStandIn) -> str:
    flow_id = f"ID01fIeLdS{secrets.randbelow(9000) + 1000}"
    ekuaibao.approver.add_report(flow_id, f"B2398{flow_id[-4:]}", approvers=[APPROVER2_ID])
    return flow_id


@pytest.mark.parametrize(
    "action, node_id",
    [
        (f"backlog.approving\n{INJECTED}", "FLOW:1848031693:1061401484"),
        ("backlog.approving", f"FLOW:1\r\n{INJECTED}"),
        ("backlog.approving", "x" * 81),
        ("backlog.approving", {"$ne": ""}),
        (["backlog.approving"], "FLOW:1848031693:1061401484"),
    ],
)
def test_a_malformed_action_or_node_is_refused_and_the_real_event_still_counts(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, action: Any, node_id: Any
) -> None:
    flow_id = new_report(ekuaibao)
    forged = approval_event(ekuaibao.world, "backlog.approving", flow_id, APPROVER2_ID)
    forged.update(action=action, nodeId=node_id)
    answer = post(bot, forged)
    assert answer.status_code == 400, answer.text
    real = approval_event(ekuaibao.world, "backlog.approving", flow_id, APPROVER2_ID)
    assert post(bot, real).status_code == 204
    wait_for(lambda: cards_for(slack, flow_id), what="the card of the real event")
    log = bot.log()
    assert INJECTED not in log and "x" * 81 not in log and "$ne" not in log
    assert "refused an Ekuaibao event whose action or nodeId is malformed" in log


def test_an_unknown_action_is_logged_by_a_short_token_and_never_deduplicated(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    flow_id = new_report(ekuaibao)
    unknown = approval_event(ekuaibao.world, "freeflow.undocumentedThing", flow_id, APPROVER2_ID)
    for _ in range(2):
        assert post(bot, unknown).status_code == 204
    line = f"for report {flow_id} (recipient {APPROVER2_ID})"
    wait_for(lambda: bot.log().count(line) == 2, what="both unknown events handled")
    assert "undocumentedThing" not in bot.log()
    assert not [x for x in bot.log().splitlines() if flow_id in x and "repeated" in x]
    real = approval_event(ekuaibao.world, "backlog.approving", flow_id, APPROVER2_ID)
    assert post(bot, real).status_code == 204
    wait_for(lambda: cards_for(slack, flow_id), what="the card of the real event")
