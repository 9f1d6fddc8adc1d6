"""The App Home tab over real HTTP: the queue with its count and the person's recent
lookups (kept in shared state, Redis or SQLite), and "Look up again", whose answer goes to
their DM with the bot."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.ekuaibao import (
    APPROVER_EMAIL,
    APPROVER_ID,
    DEMO_INVOICE_IDS,
    REPORT_CODE,
    EkuaibaoStandIn,
)
from sandbox.signing import interaction
from sandbox.slack import SlackStandIn
from tests.integration.conftest import broker_for
from tests.integration.harness import RunningBot, start_bot
from tests.integration.test_review import TOKEN, buttons, new_report, texts_of, wait_for

pytestmark = pytest.mark.timeout(180)
APPROVER_SLACK, APPROVER_DM = "U0APPROVER", "D0APPROVER"


@pytest.fixture(scope="module", params=["embedded", "redis"])
def bot(
    request: pytest.FixtureRequest,
    ekuaibao: EkuaibaoStandIn,
    slack: SlackStandIn,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningBot]:
    slack.add_user(APPROVER_SLACK, APPROVER_EMAIL)
    running = start_bot(
        ekuaibao,
        slack,
        tmp_path_factory.mktemp(f"home-{request.param}"),
        broker=broker_for(request.param),
        EKUAIBAO_EVENTS_TOKEN=TOKEN,
        BOT_LANGUAGE="en",
    )
    yield running
    running.stop()
    assert "invalid_blocks" not in running.log()


def open_home(bot: RunningBot, slack: SlackStandIn, user: str) -> dict[str, Any]:
    before = len(slack.calls_to("views.publish"))
    opened = {"type": "app_home_opened", "user": user, "tab": "home", "channel": "D1"}
    assert bot.event(opened).status_code == 200
    call = wait_for(lambda: slack.calls_to("views.publish")[before:], what="views.publish")[0]
    view = call.params["view"]
    return json.loads(view) if isinstance(view, str) else dict(view)


def home_click(bot: RunningBot, user: str, button: dict[str, Any]) -> httpx.Response:
    """A click on the Home tab, as Slack sends it: a view container, no response_url."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "team_id": "T0SANDBOX"},
        "team": {"id": "T0SANDBOX"},
        "api_app_id": "A0SANDBOX",
        "trigger_id": "1.2.3",
        "container": {"type": "view", "view_id": "V0HOME"},
        "view": {"id": "V0HOME", "type": "home"},
        "actions": [
            {
                "type": "button",
                "action_id": button["action_id"],
                "block_id": "b",
                "value": button["value"],
                "action_ts": str(time.time()),
            }
        ],
    }
    body, headers = interaction(bot.secret, payload)
    return httpx.post(bot.events_url, content=body, headers=headers, timeout=10)


def test_home_shows_recent_lookups_and_looks_up_again_into_the_dm(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    _flow_id, code = new_report(ekuaibao, [APPROVER_ID])
    ids = " ".join(DEMO_INVOICE_IDS[:2])
    asked = bot.command(ids, user_id=APPROVER_SLACK)
    assert asked.ack.status_code == 200 and bot.reply(asked)
    report = bot.command(f"report {REPORT_CODE}", user_id=APPROVER_SLACK)
    assert report.ack.status_code == 200 and bot.reply(report)
    time.sleep(0.3)  # the answer is recorded right after it is delivered

    view = open_home(bot, slack, APPROVER_SLACK)
    text = texts_of(view)
    assert view["type"] == "home" and code in text  # the queue is still there
    assert "Your recent lookups" in text
    lines = [
        b for b in view["blocks"] if b.get("accessory", {}).get("action_id", "").startswith("home")
    ]
    assert len(lines) == 2
    newest, older = (b["text"]["text"] for b in lines)
    assert f"Report `{REPORT_CODE}`" in newest and "invoice(s)" in newest and "<!date^" in newest
    assert all(f"`{i}`" in older for i in DEMO_INVOICE_IDS[:2]) and "2 of 2 found" in older
    dumped = json.dumps(view)
    assert "http" not in dumped  # ids only: never links or response_urls

    again = buttons({"blocks": lines})["home_again_1"]
    assert json.loads(again["value"])["u"] == APPROVER_SLACK
    before = len(slack.messages_in(APPROVER_DM))
    assert home_click(bot, APPROVER_SLACK, again).status_code == 200
    [reply] = wait_for(lambda: slack.messages_in(APPROVER_DM)[before:], what="the DM reply")[:1]
    assert all(i in json.dumps(reply, ensure_ascii=False) for i in DEMO_INVOICE_IDS[:2])

    # someone else's button (a forged value) does nothing
    stranger = len(slack.messages_in("D0SANDBOX"))
    assert home_click(bot, "U0SANDBOX", again).status_code == 200
    time.sleep(1.5)
    assert len(slack.messages_in("D0SANDBOX")) == stranger


def test_someone_who_never_asked_sees_how_to_start(bot: RunningBot, slack: SlackStandIn) -> None:
    slack.add_user("U0NEWCOMER", "newcomer@example.com")
    view = open_home(bot, slack, "U0NEWCOMER")
    text = texts_of(view)
    assert "No lookups yet" in text and "not an active Ekuaibao" in text
