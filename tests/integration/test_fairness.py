"""One person scripting a flood of DMs must not starve everyone else of the Ekuaibao
budget: over real HTTP, on the embedded broker, with the budget set low (5 calls/s)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from sandbox.ekuaibao import APPROVER_EMAIL, APPROVER_ID, DEMO_INVOICE_IDS, EkuaibaoStandIn
from sandbox.slack import SlackStandIn
from tests.integration.harness import RunningBot, start_bot
from tests.integration.test_decide import card_for, locate, new_report, open_modal, submits_for
from tests.integration.test_decide import confirm as confirm_decision
from tests.integration.test_review import TOKEN, wait_for

pytestmark = pytest.mark.timeout(240)
APPROVER_SLACK, APPROVER_DM = "U0APPROVER", "D0APPROVER"
FLOODER, FLOODER_DM, OTHER = "U0FLOODER", "D0FLOODER", "U0OTHER"
#: Three VAT invoices and two unknown ids: 3 Ekuaibao calls (lines, links, masters).
FIVE_IDS = " ".join(
    (*DEMO_INVOICE_IDS[:3], *(f"djg8LshfUkfM00:044031900111:0000000{n}" for n in (1, 2)))
)
FLOOD = 200
RATE, BURST = 5, 10
#: Each Ekuaibao answer takes this long, as a real one roughly does.
LATENCY_S = 0.2
CAP = 2  # LOOKUPS_PER_PERSON
#: However long the quiet times, the flood is given at least this long before failing.
PATIENCE_S = 20.0


@pytest.fixture(scope="module")
def bot(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningBot]:
    slack.add_user(APPROVER_SLACK, APPROVER_EMAIL)
    ekuaibao.approvals.process_delay_s = 0.05
    running = start_bot(
        ekuaibao,
        slack,
        tmp_path_factory.mktemp("fairness"),
        broker=None,
        EKUAIBAO_EVENTS_TOKEN=TOKEN,
        APPROVALS_IN_SLACK="true",
        APPROVALS_INTERVAL_S="0.5",
        BOT_LANGUAGE="en",
        EKUAIBAO_RATE_LIMIT=str(RATE),
        EKUAIBAO_RATE_BURST=str(BURST),
        EKUAIBAO_RETRY_WINDOW_S="600",
        LOOKUPS_PER_PERSON=str(CAP),
    )
    running.extra_secrets.append(TOKEN)
    yield running
    running.stop()


def dm(text: str, n: int) -> dict[str, Any]:
    return {
        "type": "message",
        "channel_type": "im",
        "channel": FLOODER_DM,
        "user": FLOODER,
        "text": text,
        "ts": f"{time.time():.6f}",
    }


def budget_full(ekuaibao: EkuaibaoStandIn) -> None:
    """Quiet means a full budget: Ekuaibao has seen no call for as long as a refill takes."""

    def idle() -> bool:
        calls = ekuaibao.calls
        return not calls or ekuaibao.clock() - calls[-1].at >= BURST / RATE

    wait_for(idle, PATIENCE_S, "the budget to refill")


def answer_time(bot: RunningBot, patience_s: float) -> float:
    """Seconds from `/invoice` (5 ids) to its answer; fails after `patience_s`."""
    command = bot.command(FIVE_IDS, user_id=OTHER)
    assert command.ack.status_code == 200
    started = time.time()
    [post] = bot.slack.wait_for_posts(command.response_url, 1, timeout=patience_s)
    assert "3 found, 2 not found" in post.body["text"]
    return post.at - started


def ready_decision(bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn) -> Any:
    flow_id, _ = new_report(ekuaibao, [APPROVER_ID])
    card = locate(slack, card_for(bot, ekuaibao, slack, flow_id, APPROVER_ID), APPROVER_DM)
    return flow_id, open_modal(bot, slack, card, "decide_approve", APPROVER_SLACK)


def submit_delay(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, ready: Any, patience_s: float
) -> float:
    """Seconds from the approver's confirm to the submit reaching Ekuaibao."""
    flow_id, view = ready
    started = time.time()
    assert confirm_decision(bot, view, APPROVER_SLACK).status_code == 200
    [submit] = wait_for(lambda: submits_for(ekuaibao, flow_id), patience_s, "the submit")
    return float(submit.at - started)


def flood(bot: RunningBot) -> None:
    with ThreadPoolExecutor(8) as senders:
        answers = list(senders.map(lambda n: bot.event(dm(FIVE_IDS, n)), range(FLOOD)))
    assert all(a.status_code == 200 for a in answers)


def test_a_flood_of_dms_does_not_starve_another_person_nor_a_decision(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    ready = ready_decision(bot, ekuaibao, slack)
    ekuaibao.delay_s = LATENCY_S
    budget_full(ekuaibao)
    quiet_decision = submit_delay(bot, ekuaibao, ready, PATIENCE_S)
    answer_time(bot, PATIENCE_S)  # the first lookup warms the worker's clients up
    budget_full(ekuaibao)
    quiet = answer_time(bot, PATIENCE_S)
    ready = ready_decision(bot, ekuaibao, slack)
    flood(bot)
    loud = answer_time(bot, max(PATIENCE_S, 2 * quiet))
    loud_decision = submit_delay(bot, ekuaibao, ready, max(PATIENCE_S, 2 * quiet_decision))
    print(
        f"\n/invoice quiet {quiet:.2f} s, under the flood {loud:.2f} s; "
        f"decision submit quiet {quiet_decision:.2f} s, under the flood {loud_decision:.2f} s"
    )
    assert loud <= 2 * quiet
    assert loud_decision <= 2 * quiet_decision

    # the flooder is told truthfully why their later lookups wait, and those come back
    def flooder_sees(words: str, at_least: int) -> bool:
        seen = [m for m in slack.messages_in(FLOODER_DM) if words in json.dumps(m)]
        return len(seen) >= at_least

    wait_for(lambda: flooder_sees("of your own lookups are ahead", 1), PATIENCE_S, "the note")
    answered = CAP + 2  # more than the cap: lookups that waited their turn were answered
    wait_for(lambda: flooder_sees("3 found, 2 not found", answered), PATIENCE_S, "answers")
