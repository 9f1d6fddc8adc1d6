"""Socket Mode end to end: `invoicebot serve` with SLACK_APP_TOKEN against the WebSocket stand-in.

Every request is an envelope acked over the socket within 3 s, exactly once, and then
answered; the bot reconnects after each way Slack's side of a connection can end.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.ekuaibao import EkuaibaoStandIn
from sandbox.slack import SlackStandIn
from sandbox.socket_mode import SocketModeStandIn
from tests.integration.harness import SocketBot, bot_env, start_socket_bot

DISCOUNT = "djg8LshfUkfM00:033002100311:23272058"
MEAL = "0aM9AbvdhI0400:011001900111:07517347"
RECONNECT_WITHIN_S = 5.0
#: A channel message: the bot is subscribed to none, so Bolt acks it and nothing else happens.
CHANNEL_CHATTER = {"type": "message", "channel_type": "channel", "channel": "C0SANDBOX"} | {
    "user": "U0SANDBOX",
    "text": "lunch?",
}


@pytest.fixture(scope="module")
def socket_mode() -> Iterator[SocketModeStandIn]:
    with SocketModeStandIn() as standin:
        yield standin


@pytest.fixture(scope="module")
def slack(socket_mode: SocketModeStandIn) -> Iterator[SlackStandIn]:
    with SlackStandIn(socket_mode=socket_mode) as standin:
        yield standin


@pytest.fixture(scope="module")
def bot(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SocketBot]:
    running = start_socket_bot(ekuaibao, slack, tmp_path_factory.mktemp("socket-bot"))
    yield running
    running.stop()


def acked_once(bot: SocketBot, envelope_id: str) -> dict[str, object] | None:
    """The ack's payload, after checking it came within 3 s and came once."""
    ack = bot.socket_mode.wait_ack(envelope_id, timeout=5)
    assert ack.latency_s < 3.0, f"acked after {ack.latency_s:.2f} s"
    time.sleep(0.2)  # a second ack would come right behind the first
    assert len(bot.socket_mode.acks_for(envelope_id)) == 1
    return ack.payload


def text_of(body: dict[str, object]) -> str:
    return str(body.get("text", "")) + str(body.get("blocks", ""))


def refresh_button(body: dict[str, object]) -> str:
    blocks = body["blocks"]
    assert isinstance(blocks, list)
    return next(
        e["value"]
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "refresh_links"
    )


def reconnected(bot: SocketBot, greeted: int) -> float:
    """Seconds from now until the stand-in greets one more connection."""
    started = time.monotonic()
    conn = bot.socket_mode.wait_connections(greeted + 1, timeout=30)
    assert conn.hello_at is not None
    return conn.hello_at - started


def greeted(bot: SocketBot) -> int:
    return sum(1 for c in bot.socket_mode.connections if c.hello_at is not None)


def still_answers(bot: SocketBot) -> None:
    command = bot.command(MEAL)
    acked_once(bot, command.envelope_id)
    [post] = bot.reply(command)
    assert post.status == 200 and "¥" in text_of(post.body)


# -- start-up ---------------------------------------------------------------------------------


def test_it_says_connected_once_slack_said_hello(bot: SocketBot) -> None:
    [line] = [line for line in bot.log().splitlines() if "connected in Socket Mode" in line]
    assert line.startswith("invoicebot: connected in Socket Mode (broker: embedded")
    assert [c.hello_at is not None for c in bot.socket_mode.connections] == [True]
    assert bot.slack.calls_to("apps.connections.open")[0].token == bot.socket_mode.app_token


def test_a_refused_connection_is_one_line_and_exit_2(
    ekuaibao: EkuaibaoStandIn, tmp_path: Path
) -> None:
    with SocketModeStandIn() as refusing, SlackStandIn(socket_mode=refusing) as slack:
        refusing.refuse_next(1, 503)
        env = bot_env(ekuaibao, slack, tmp_path / "state", None, "unused")
        del env["SLACK_SIGNING_SECRET"]
        env["SLACK_APP_TOKEN"] = refusing.app_token
        result = subprocess.run(
            [sys.executable, "-m", "bot.cli", "serve", "--no-worker"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refusing.connections == []  # the handshake was refused, nothing opened
    assert result.returncode == 2
    assert "connected in Socket Mode" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.startswith("invoicebot:")]
    assert lines == [
        "invoicebot: Slack refused the Socket Mode connection (HTTP 503); "
        "check that Slack is reachable and try again"
    ]
    assert "Traceback" not in result.stderr
    assert refusing.app_token not in result.stderr + result.stdout
    assert "ticket=" not in result.stderr + result.stdout


# -- the four ways in ---------------------------------------------------------------------------


def test_a_slash_command_is_acked_over_the_socket_and_answered(bot: SocketBot) -> None:
    command = bot.command(f"{DISCOUNT} {MEAL}")
    ack = acked_once(bot, command.envelope_id)
    assert ack is not None and "Looking up 2 invoices" in text_of(ack)
    [post] = bot.reply(command)
    assert post.status == 200
    assert "¥263.00" in text_of(post.body)


def test_a_mention_is_acked_and_answered_in_the_thread(bot: SocketBot) -> None:
    since = len(bot.slack.api_calls)
    ts = f"{time.time():.6f}"
    envelope_id = bot.event(
        {
            "type": "app_mention",
            "channel": "C0SANDBOX",
            "user": "U0SANDBOX",
            "ts": ts,
            "text": f"<@U0SANDBOXBOT> {DISCOUNT}",
        }
    )
    assert not acked_once(bot, envelope_id)  # events are acked empty
    [reply] = bot.wait_api("chat.postEphemeral", since=since)
    assert reply.params["thread_ts"] == ts and "¥263.00" in str(reply.params)


def test_a_button_click_is_acked_and_answered(bot: SocketBot) -> None:
    command = bot.command(MEAL)
    acked_once(bot, command.envelope_id)
    [post] = bot.reply(command)
    click = bot.click("refresh_links", refresh_button(post.body))
    acked_once(bot, click.envelope_id)
    [refreshed] = bot.reply(click)
    assert refreshed.status == 200 and refreshed.body.get("replace_original") is True


def test_the_message_shortcut_is_acked_and_answered(bot: SocketBot) -> None:
    shortcut = bot.shortcut({"type": "message", "ts": "1.1", "text": f"pls check {MEAL}"})
    acked_once(bot, shortcut.envelope_id)
    [post] = bot.reply(shortcut)
    assert post.status == 200 and "¥" in text_of(post.body)


# -- connections that end ------------------------------------------------------------------------


def test_a_refresh_is_seamless_every_envelope_acked_once_within_3s(bot: SocketBot) -> None:
    sm = bot.socket_mode
    before = greeted(bot)
    sm.request_refresh(close_after=3.0)
    sent = []
    until = time.monotonic() + 1.5
    while time.monotonic() < until:  # the switch-over window: old and new connection open
        sent.append(bot.event(CHANNEL_CHATTER | {"ts": f"{time.time():.6f}"}))
        time.sleep(0.03)
    latencies = [sm.wait_ack(envelope_id, timeout=5).latency_s for envelope_id in sent]
    time.sleep(0.3)
    assert max(latencies) < 3.0, f"slowest ack {max(latencies):.2f} s"
    assert all(len(sm.acks_for(e)) == 1 for e in sent)
    assert greeted(bot) == before + 1
    # the old connection is closed by the bot once the new one said hello, not by Slack later
    old = sm.connections[before - 1]
    assert old.closed_at is not None and old.closed_at - old.opened_at < 60
    still_answers(bot)


@pytest.mark.parametrize("how", ["close_frame", "tcp_fin", "tcp_rst", "peer_stops_answering"])
def test_it_reconnects_within_5s_without_spinning(bot: SocketBot, how: str) -> None:
    sm = bot.socket_mode
    conn = sm.wait_open()
    before = greeted(bot)
    cpu = bot.cpu_seconds()
    started = time.monotonic()
    ends = {
        "close_frame": sm.close,
        "tcp_fin": sm.drop,
        "tcp_rst": lambda c: sm.drop(c, reset=True),
        "peer_stops_answering": sm.freeze,
    }
    ends[how](conn)
    took = reconnected(bot, before)
    assert took < RECONNECT_WITHIN_S, f"reconnected after {took:.1f} s"
    time.sleep(max(0.0, started + 3.0 - time.monotonic()))  # CPU over 3 s, not one reconnect
    wall = time.monotonic() - started
    busy = (bot.cpu_seconds() - cpu) / wall
    assert busy < 0.5, f"{busy:.0%} of a core while reconnecting"
    assert sm.open_connections()[-1].number != conn.number
    still_answers(bot)


def test_no_ack_for_an_envelope_never_sent_and_no_second_ack(bot: SocketBot) -> None:
    sm = bot.socket_mode
    assert sm.unknown_acks == []
    counts: dict[str, int] = {}
    for ack in sm.acks:
        counts[ack.envelope_id] = counts.get(ack.envelope_id, 0) + 1
    assert counts and set(counts.values()) == {1}


def test_the_socket_mode_demo_shows_a_newcomer_the_whole_flow(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo", "--socket-mode"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert out.startswith("Starting the bot (Socket Mode, embedded broker, worker child)")
    assert "You typed:  /invoice report B23001249" in out and "¥263.00" in out
    assert "replaced in place with freshly signed links (HTTP 200)" in out
    ack_ms = float(out.split("Ack latency over the socket: ")[1].split(" ms")[0])
    assert ack_ms < 3000
