"""Deciding with real worker processes on Redis: one SIGKILLed while its call is at
Ekuaibao, and two racing for the same decision. Neither acts twice or leaves the card at
"Approving…"."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.ekuaibao import APPROVER_EMAIL, APPROVER_ID, EkuaibaoStandIn
from sandbox.slack import SlackStandIn
from tests.integration.conftest import broker_for
from tests.integration.harness import RunningBot, bot_env, start_bot, start_worker
from tests.integration.test_brokers import kill_group, stop_group
from tests.integration.test_decide import (
    APPROVER_DM,
    APPROVER_SLACK,
    card_for,
    card_now,
    confirm,
    locate,
    new_report,
    open_modal,
    submits_for,
)
from tests.integration.test_review import TOKEN, buttons, wait_for

pytestmark = pytest.mark.timeout(240)
SETTINGS = {
    "EKUAIBAO_EVENTS_TOKEN": TOKEN,
    "APPROVALS_IN_SLACK": "true",
    "APPROVALS_INTERVAL_S": "1",
    "BOT_LANGUAGE": "en",
    "BROKER_VISIBILITY_TIMEOUT_S": "10",
    "EKUAIBAO_TIMEOUT_S": "10",
    "DOUBLE_CLICK_S": str(DOUBLE_CLICK_S := 0.5),
}


@pytest.fixture
def bot(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path: Path
) -> Iterator[tuple[RunningBot, dict[str, str]]]:
    broker = broker_for("redis")
    slack.add_user(APPROVER_SLACK, APPROVER_EMAIL)
    ekuaibao.approvals.process_delay_s = 0.3
    running = start_bot(ekuaibao, slack, tmp_path, broker=broker, worker=False, **SETTINGS)
    env = bot_env(ekuaibao, slack, tmp_path / "state", broker, running.secret, **SETTINGS)
    yield running, env
    running.stop()


def test_a_worker_killed_mid_decision_neither_repeats_nor_hangs(
    bot: tuple[RunningBot, dict[str, str]],
    ekuaibao: EkuaibaoStandIn,
    slack: SlackStandIn,
    tmp_path: Path,
) -> None:
    running, env = bot
    first = start_worker(env, tmp_path / "first.log")
    second = None
    try:
        flow_id, _ = new_report(ekuaibao, [APPROVER_ID])
        card = locate(slack, card_for(running, ekuaibao, slack, flow_id, APPROVER_ID), APPROVER_DM)
        view = open_modal(running, slack, card, "decide_approve", APPROVER_SLACK)
        ekuaibao.approvals.submit_stall_s = 3.0  # the call is at Ekuaibao when the worker dies
        ekuaibao.approvals.arrived.clear()
        assert confirm(running, view, APPROVER_SLACK).status_code == 200
        assert ekuaibao.approvals.arrived.wait(20)
        kill_group(first)
        killed = time.monotonic()
        ekuaibao.approvals.submit_stall_s = 0.0
        assert "Approving" in card_now(slack, card)
        second = start_worker(env, tmp_path / "second.log")
        wait_for(lambda: "Approved" in card_now(slack, card), timeout=60, what="the outcome")
        waited = time.monotonic() - killed
        time.sleep(1.0)
        assert len(submits_for(ekuaibao, flow_id)) == 1  # Ekuaibao took it once
        assert "now at 出纳支付" in card_now(slack, card)
        log = (tmp_path / "second.log").read_text()
        assert "recovering: confirming through the report" in log
        print(f"confirmed {waited:.1f} s after the worker was killed")
    finally:
        ekuaibao.approvals.submit_stall_s = 0.0
        for proc in (first, second):
            if proc is not None:
                stop_group(proc)


def test_a_worker_killed_before_its_call_frees_the_claim_and_the_card(
    bot: tuple[RunningBot, dict[str, str]],
    ekuaibao: EkuaibaoStandIn,
    slack: SlackStandIn,
    tmp_path: Path,
) -> None:
    """Killed after claiming (the card says "Approving…") but before calling Ekuaibao: the
    redelivered task frees the claim and draws the card again with its buttons, saying
    nothing was sent; no second click needed. Approving again then works, once."""
    running, env = bot
    first = start_worker(env, tmp_path / "first.log")
    second = None
    try:
        flow_id, _ = new_report(ekuaibao, [APPROVER_ID])
        card = locate(slack, card_for(running, ekuaibao, slack, flow_id, APPROVER_ID), APPROVER_DM)
        view = open_modal(running, slack, card, "decide_approve", APPROVER_SLACK)
        slack.update_arrived.clear()
        slack.update_stall_s = 30.0  # the worker hangs on the "Approving…" card update
        assert confirm(running, view, APPROVER_SLACK).status_code == 200
        assert slack.update_arrived.wait(20)
        kill_group(first)
        killed = time.monotonic()
        slack.update_stall_s = 0.0
        assert "Approving" in card_now(slack, card) and not submits_for(ekuaibao, flow_id)
        second = start_worker(env, tmp_path / "second.log")
        wait_for(lambda: "was not sent" in card_now(slack, card), timeout=60, what="the card")
        print(f"card true again {time.monotonic() - killed:.1f} s after the worker was killed")
        now = slack.message(APPROVER_DM, card["ts"]) or {}
        assert {"decide_approve", "decide_reject", "decide_ask"} <= set(buttons(now))
        assert not submits_for(ekuaibao, flow_id)
        assert "not sent: claim freed" in (tmp_path / "second.log").read_text()

        again = open_modal(
            running, slack, locate(slack, now, APPROVER_DM), "decide_approve", APPROVER_SLACK
        )
        assert confirm(running, again, APPROVER_SLACK).status_code == 200
        wait_for(lambda: "Approved" in card_now(slack, card), timeout=30, what="the outcome")
        assert len(submits_for(ekuaibao, flow_id)) == 1
    finally:
        slack.update_stall_s = 0.0
        for proc in (first, second):
            if proc is not None:
                stop_group(proc)


def test_two_workers_racing_decide_once(
    bot: tuple[RunningBot, dict[str, str]],
    ekuaibao: EkuaibaoStandIn,
    slack: SlackStandIn,
    tmp_path: Path,
) -> None:
    running, env = bot
    workers = [start_worker(env, tmp_path / f"w{n}.log") for n in range(2)]
    try:
        flow_id, _ = new_report(ekuaibao, [APPROVER_ID])
        card = locate(slack, card_for(running, ekuaibao, slack, flow_id, APPROVER_ID), APPROVER_DM)
        first = open_modal(running, slack, card, "decide_approve", APPROVER_SLACK)
        time.sleep(DOUBLE_CLICK_S + 0.1)  # past the click de-duplication
        second = open_modal(running, slack, card, "decide_approve", APPROVER_SLACK)
        threads = [
            threading.Thread(target=confirm, args=(running, view, APPROVER_SLACK))
            for view in (first, second)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wait_for(lambda: "Approved" in card_now(slack, card), timeout=30, what="the outcome")
        time.sleep(1.5)
        assert len(submits_for(ekuaibao, flow_id)) == 1
        logs = "".join((tmp_path / f"w{n}.log").read_text() for n in range(2))
        assert logs.count(f"decision flow={flow_id}") >= 2  # both ran; one acted
        assert "ignored: already claimed" in logs
    finally:
        for proc in workers:
            stop_group(proc)
