"""Hostile text over real HTTP: messages of Slack's maximum length, built to make a
backtracking pattern slow, must not hold up anybody else's `/invoice`.

The listeners read the text before they answer Slack, and reading holds the GIL, so one
slow parse would delay every request of the process. One module-scoped bot on the embedded
broker: parsing does not depend on the broker.
"""

from __future__ import annotations

import http.client
import itertools
import time
from collections.abc import Callable, Iterator

import pytest

from sandbox.ekuaibao import EkuaibaoStandIn
from sandbox.signing import event, event_callback
from sandbox.slack import SlackStandIn
from tasks.shared.texts import texts_for
from tests.integration.harness import RunningBot, start_bot

EN = texts_for("en")
ACK_LIMIT_S = 3.0
MEAL = "0aM9AbvdhI0400:011001900111:07517347"
SLACK_MAX = 40_000  # characters in one message
HOSTILE_TEXTS = (
    "report" + " " * (SLACK_MAX - 6),
    "单据" + " " * (SLACK_MAX - 2),
    "<@" * (SLACK_MAX // 2),
    "report" + " " * 20_000 + "：" + " " * (SLACK_MAX - 20_007),
)
HOSTILE_DMS = 20


@pytest.fixture(scope="module")
def bot(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningBot]:
    """Overrides the conftest's embedded+Redis `bot`: one embedded run is enough here."""
    running = start_bot(ekuaibao, slack, tmp_path_factory.mktemp("hostile-text"), broker=None)
    yield running
    running.stop()


def send_dm(bot: RunningBot, text: str, channel: str) -> http.client.HTTPConnection:
    """A signed message.im event, sent in full; its answer is read later."""
    inner = {
        "type": "message",
        "channel_type": "im",
        "channel": channel,
        "user": "U0SANDBOX",
        "text": text,
        "ts": f"{time.time():.6f}",
    }
    body, headers = event(bot.secret, event_callback(inner))
    connection = http.client.HTTPConnection("127.0.0.1", bot.port, timeout=120)
    connection.request("POST", "/slack/events", body=body, headers=headers)
    return connection


def hints_posted(slack: SlackStandIn, channels: set[str], since: int) -> int:
    return sum(
        1
        for call in slack.api_calls[since:]
        if call.method == "chat.postMessage"
        and call.params.get("channel") in channels
        and call.params.get("text") == EN.dm_hint
    )


def wait_until(done: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(0.05)
    return False


def test_an_invoice_is_acked_in_time_while_hostile_dms_arrive(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn
) -> None:
    since = len(bot.slack.api_calls)
    channels = [f"D0HOSTILE{i:02d}" for i in range(HOSTILE_DMS)]
    texts = itertools.islice(itertools.cycle(HOSTILE_TEXTS), HOSTILE_DMS)
    sent = [send_dm(bot, text, channel) for text, channel in zip(texts, channels, strict=False)]

    command = bot.command(MEAL)  # on the wire after every hostile DM

    assert command.ack.status_code == 200
    assert command.ack_ms < ACK_LIMIT_S * 1000, f"acked after {command.ack_ms:.0f} ms"
    assert command.ack.json()["text"] == ":mag: Looking up 1 invoice…"
    [post] = bot.reply(command)
    assert MEAL.rsplit(":", 1)[-1] in str(post.body)
    statuses = []
    for connection in sent:
        statuses.append(connection.getresponse().status)
        connection.close()
    assert statuses == [200] * HOSTILE_DMS
    # each DM was read (nothing in it to look up), not dropped: each gets the DM hint
    assert wait_until(lambda: hints_posted(bot.slack, set(channels), since) >= HOSTILE_DMS, 30)
    assert hints_posted(bot.slack, set(channels), since) == HOSTILE_DMS


def test_a_shortcut_on_a_huge_message_is_answered_and_finds_its_id(bot: RunningBot) -> None:
    """The shortcut joins every text of a message, here twice Slack's maximum: what fits
    under the cap is read, in time."""
    padding = "report" + " " * (SLACK_MAX - 6 - len(MEAL) - 1)
    message = {
        "type": "message",
        "text": f"{MEAL} {padding}",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "<@" * SLACK_MAX}}],
    }
    started = time.perf_counter()
    response, response_url = bot.shortcut(message)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert elapsed < ACK_LIMIT_S, f"answered after {elapsed:.1f} s"
    [post] = bot.slack.wait_for_posts(response_url, 1, timeout=30)
    assert MEAL.rsplit(":", 1)[-1] in str(post.body)
