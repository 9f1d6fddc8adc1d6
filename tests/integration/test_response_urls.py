"""Replies go only to Slack's own hosts: a request whose response_url points anywhere else
(here a second loopback server standing in for an attacker's host) is never POSTed to,
neither by the bot that would queue it nor by a worker handed such a task anyway."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.ekuaibao import EkuaibaoStandIn
from sandbox.slack import SlackStandIn
from tests.integration.harness import bot_env, start_bot, start_worker

MEAL = "0aM9AbvdhI0400:011001900111:07517347"


@pytest.fixture(scope="module")
def attacker() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


def wait_for_line(path: Path, line: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and line in path.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise AssertionError(f"no {line!r} in {path.name} within {timeout} s")


def test_a_command_whose_response_url_is_elsewhere_is_not_queued(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, attacker: SlackStandIn, tmp_path: Path
) -> None:
    bot = start_bot(ekuaibao, slack, tmp_path, broker=None)
    try:
        elsewhere = attacker.new_response_url()
        command = bot.command(MEAL, response_url=elsewhere)
        assert command.ack.status_code == 200
        assert "can't queue your lookup right now" in command.ack.json()["text"]
        # a lookup queued after it is answered: the worker would have posted by now
        assert bot.reply(bot.command(MEAL))[0].status == 200
    finally:
        bot.stop()
    assert attacker.posts == []
    assert "refused to queue a LookupRequest whose response_url is not under" in bot.log()
    assert elsewhere.rsplit("/", 1)[1] not in bot.log()


def test_a_worker_never_posts_to_a_response_url_elsewhere(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, attacker: SlackStandIn, tmp_path: Path
) -> None:
    """The bot is told to trust the attacker's host too (as if a task reached the queue some
    other way); the worker, on the default of its own settings, still refuses."""
    prefixes = f"{slack.response_url_prefix},{attacker.response_url_prefix}"
    bot = start_bot(
        ekuaibao, slack, tmp_path, broker=None, worker=False, SLACK_RESPONSE_URL_PREFIXES=prefixes
    )
    env = bot_env(ekuaibao, slack, tmp_path / "state", None, bot.secret)
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        elsewhere = attacker.new_response_url()
        command = bot.command(MEAL, response_url=elsewhere)
        assert command.ack.json()["text"] == ":mag: Looking up 1 invoice…"
        wait_for_line(tmp_path / "worker.log", "refused to post a reply to a response_url")
        assert bot.reply(bot.command(MEAL))[0].status == 200
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        bot.stop()
    assert attacker.posts == []
    worker_log = (tmp_path / "worker.log").read_text(errors="replace")
    assert elsewhere.rsplit("/", 1)[1] not in worker_log
