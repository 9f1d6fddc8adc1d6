"""Secrets never leave: every entry point at DEBUG logging, then the logs are searched."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from collections.abc import Iterator

import httpx
import pytest

from sandbox.ekuaibao import APPROVER_EMAIL, APPROVER_ID, REPORT_ID, EkuaibaoStandIn
from sandbox.ekuaibao_approver import approval_event
from sandbox.signing import block_action
from sandbox.slack import SlackStandIn
from sandbox.socket_mode import SocketModeStandIn
from tasks.ekuaibao.session import CALL_TRIES_MAX
from tests.integration.harness import (
    RunningBot,
    SocketBot,
    free_port,
    start_bot,
    start_socket_bot,
)

DISCOUNT = "djg8LshfUkfM00:033002100311:23272058"
MEAL = "0aM9AbvdhI0400:011001900111:07517347"
#: Where Ekuaibao posts approval messages: the path's last part is a secret.
EVENTS_TOKEN = "evt-" + "Zq9x" * 8


@pytest.fixture(scope="module")
def debug_bot(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningBot]:
    running = start_bot(
        ekuaibao,
        slack,
        tmp_path_factory.mktemp("debug"),
        broker=None,
        LOG_LEVEL="DEBUG",
        EKUAIBAO_EVENTS_TOKEN=EVENTS_TOKEN,
    )
    yield running
    running.stop()


def assert_no_secret_in(
    log: str,
    signing_secret: str | None,
    response_urls: list[str],
    ekuaibao: EkuaibaoStandIn,
    *extra: tuple[str, str],
) -> None:
    assert "DEBUG" in log  # the scenario really ran at DEBUG
    secrets = {
        "bot token": "xoxb-sandbox-token",
        "app security": "sandbox-app-security",
        "app key": "sandbox-app-key",
        **dict(extra),
    }
    if signing_secret:
        secrets["signing secret"] = signing_secret
    for url in response_urls:
        secrets[f"response_url {url[-6:]}"] = urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1]
    for call in ekuaibao.calls:
        if call.query.get("accessToken"):
            secrets["accessToken"] = call.query["accessToken"]
    for url in ekuaibao.signed_urls_served():
        match = re.search(r"Signature=([^&]+)", url)
        assert match
        secrets[f"Signature {match.group(1)[:6]}"] = urllib.parse.unquote(match.group(1))
        secrets[f"Signature(raw) {match.group(1)[:6]}"] = match.group(1)
        token = re.search(r"security-token=([^&]+)", url)
        if token:
            secrets[f"security-token {token.group(1)[:6]}"] = token.group(1)[:40]
    leaked = {
        name: log[max(0, log.find(value) - 80) : log.find(value) + 20]
        for name, value in secrets.items()
        if value and value in log
    }
    assert leaked == {}, json.dumps(leaked, ensure_ascii=False, indent=1)


def test_no_secret_in_debug_logs_across_all_entry_points(
    debug_bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    bot = debug_bot
    response_urls: list[str] = []

    command = bot.command(f"{DISCOUNT} {MEAL}")
    response_urls.append(command.response_url)
    [post] = bot.reply(command)
    report = bot.command("report B23001249")
    response_urls.append(report.response_url)
    bot.reply(report)
    refresh = next(
        e
        for b in post.body["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "refresh_links"
    )
    _, click_url = bot.click("refresh_links", refresh["value"])
    response_urls.append(click_url)
    slack.wait_for_posts(click_url, 1, timeout=30)
    _, shortcut_url = bot.shortcut({"type": "message", "ts": "1.1", "text": f"pls check {MEAL}"})
    response_urls.append(shortcut_url)
    slack.wait_for_posts(shortcut_url, 1, timeout=30)
    since = len(slack.api_calls)
    bot.event(
        {
            "type": "message",
            "channel_type": "im",
            "channel": "D0SANDBOX",
            "user": "U0SANDBOX",
            "text": MEAL,
            "ts": f"{time.time():.6f}",
        }
    )
    bot.wait_api("chat.postMessage", since=since)
    # a lookup-level retry path too: every try of the lookup's 3 calls fails once
    ekuaibao.fail_next(3 * CALL_TRIES_MAX, status=502)
    failing = bot.command(MEAL)
    response_urls.append(failing.response_url)
    bot.reply(failing, n=2)
    time.sleep(1.0)

    assert_no_secret_in(bot.log(), bot.secret, response_urls, ekuaibao)


def test_no_secret_in_debug_logs_across_the_review_entry_points(
    debug_bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    """The events token, the deep link and the links on a card never reach a log line."""
    bot = debug_bot
    slack.add_user("U0APPROVER", APPROVER_EMAIL)
    url = f"http://127.0.0.1:{bot.port}/ekuaibao/events/{EVENTS_TOKEN}"
    body = approval_event(ekuaibao.world, "backlog.approving", REPORT_ID, APPROVER_ID)
    assert ekuaibao.approver.send(url.replace("Zq9x", "Zq9y", 1), body).status == 404
    assert ekuaibao.approver.send(url, {"not": "an event"}).status == 204
    assert ekuaibao.approver.send(url, body).status == 204
    card = None
    deadline = time.monotonic() + 30
    while card is None and time.monotonic() < deadline:
        card = next(iter(slack.messages_in("D0APPROVER")), None)
        time.sleep(0.05)
    assert card is not None
    response_urls = [slack.new_response_url()]
    payload, headers = block_action(
        bot.secret,
        "review_open",
        json.dumps({"f": REPORT_ID}),
        response_urls[0],
        user="U0APPROVER",
        channel="D0APPROVER",
        message_ts=card["ts"],
    )
    httpx.post(bot.events_url, content=payload, headers=headers, timeout=10)
    [link] = slack.wait_for_posts(response_urls[0], 1, timeout=30)
    queue = bot.command("review", user_id="U0APPROVER")
    response_urls.append(queue.response_url)
    bot.reply(queue)
    time.sleep(1.0)
    [deep] = ekuaibao.approver.links_issued
    assert deep in link.body["text"]
    assert_no_secret_in(
        bot.log(),
        bot.secret,
        response_urls,
        ekuaibao,
        ("events token", EVENTS_TOKEN),
        ("deep link", deep),
    )


def test_every_answered_request_has_one_audit_line(debug_bot: RunningBot) -> None:
    command = debug_bot.command(MEAL)
    debug_bot.reply(command)
    time.sleep(0.5)
    lines = [
        line
        for line in debug_bot.log().splitlines()
        if "invoicebot.audit" in line and f"ids={MEAL}" in line
    ]
    assert lines, "no audit line"
    line = lines[-1]
    assert "user=U0SANDBOX" in line and "channel=C0SANDBOX" in line
    assert "access=" in line and "outcome=answered found=1 not_found=0" in line
    assert "http" not in line


@pytest.fixture(scope="module")
def debug_socket_bot(
    ekuaibao: EkuaibaoStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SocketBot]:
    with SocketModeStandIn() as socket_mode, SlackStandIn(socket_mode=socket_mode) as slack:
        running = start_socket_bot(
            ekuaibao,
            slack,
            tmp_path_factory.mktemp("debug-socket"),
            port=free_port(),
            LOG_LEVEL="DEBUG",
            EKUAIBAO_EVENTS_TOKEN=EVENTS_TOKEN,
        )
        running.escape_slashes = True  # as Slack's JSON writes them: https:\/\/hooks…
        yield running
        running.stop()


def test_no_secret_in_debug_logs_in_socket_mode(
    debug_socket_bot: SocketBot, ekuaibao: EkuaibaoStandIn
) -> None:
    bot = debug_socket_bot
    slack = bot.slack
    response_urls: list[str] = []

    command = bot.command(f"{DISCOUNT} {MEAL}")
    response_urls.append(command.response_url)
    [post] = bot.reply(command)
    report = bot.command("report B23001249")
    response_urls.append(report.response_url)
    bot.reply(report)
    refresh = next(
        e
        for b in post.body["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "refresh_links"
    )
    click = bot.click("refresh_links", refresh["value"])
    response_urls.append(click.response_url)
    bot.reply(click)
    shortcut = bot.shortcut({"type": "message", "ts": "1.1", "text": f"pls check {MEAL}"})
    response_urls.append(shortcut.response_url)
    bot.reply(shortcut)
    since = len(slack.api_calls)
    bot.event(
        {
            "type": "message",
            "channel_type": "im",
            "channel": "D0SANDBOX",
            "user": "U0SANDBOX",
            "text": MEAL,
            "ts": f"{time.time():.6f}",
        }
    )
    bot.wait_api("chat.postMessage", since=since)
    # a lookup-level retry path too: every try of the lookup's 3 calls fails once
    ekuaibao.fail_next(3 * CALL_TRIES_MAX, status=502)
    failing = bot.command(MEAL)
    response_urls.append(failing.response_url)
    bot.reply(failing, n=2)
    # Ekuaibao's approval messages still arrive over HTTP, on --port, beside /healthz
    port = int(bot.proc.args[-1])  # type: ignore[index]
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    events = f"http://127.0.0.1:{port}/ekuaibao/events/{EVENTS_TOKEN}"
    wrong = httpx.post(events[:-1], json={"flowId": "x"}, timeout=5)
    assert wrong.status_code == 404 and wrong.text == "Not Found"
    body = approval_event(ekuaibao.world, "backlog.approving", REPORT_ID, "x:nobody")
    assert httpx.post(events, json=body, timeout=5).status_code == 204
    deadline = time.monotonic() + 20
    while "who is not a current approver" not in bot.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "who is not a current approver" in bot.log()
    bot.socket_mode.request_refresh(close_after=1.0)  # a reconnect: a new URL and ticket
    bot.socket_mode.wait_connections(2)
    time.sleep(1.0)

    log = bot.log()
    # slack_sdk logs each envelope as received, slashes escaped: that is what was redacted
    assert 'on_message invoked: (message: {"envelope_id"' in log
    assert '"response_url": "[response_url redacted]"' in log
    tickets = [(f"ticket {t[:6]}", t) for t in bot.socket_mode.tickets_issued]
    assert len(tickets) == 2
    assert_no_secret_in(
        log,
        None,
        response_urls,
        ekuaibao,
        ("app token", bot.socket_mode.app_token),
        ("events token", EVENTS_TOKEN),
        *tickets,
    )


#: What a forged line would look like, if text from outside could start a line of its own.
FORGED = "2026-01-01 00:00:00,000 ERROR invoicebot.audit: FORGED-LINE user=U0BOSS"


def test_text_from_slack_or_ekuaibao_cannot_start_a_log_line(
    debug_bot: RunningBot, ekuaibao: EkuaibaoStandIn
) -> None:
    """Ekuaibao's error words reach log lines (its newlines are refused, not its CR, NEL or
    Unicode separators), and so does what a person typed, at DEBUG."""
    for separator in ("\r", "\x85", "\u2028", "\u2029", "\x1b[2K\r"):
        message = json.dumps({"errorMessage": f"单据不存在{separator}{FORGED}"})
        ekuaibao.fail_next(3, status=400, body=message)
        debug_bot.reply(debug_bot.command(MEAL))
        typed = debug_bot.command(f"{MEAL}{separator}{FORGED}")  # answered in the ack
        assert typed.ack.status_code == 200 and "U0BOSS" in typed.ack.text
    time.sleep(0.5)
    log = debug_bot.log()
    assert "FORGED-LINE" in log  # the words did reach the log, on someone else's line
    starts = [line for line in log.splitlines() if line.startswith(FORGED[:20])]
    assert starts == []
    assert "\x1b" not in log and "\r" not in log.replace("\r\n", "\n")
