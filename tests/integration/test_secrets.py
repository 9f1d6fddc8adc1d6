"""Secrets never leave: every entry point at DEBUG logging, then the logs are searched."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from collections.abc import Iterator

import pytest

from sandbox.ekuaibao import EkuaibaoStandIn
from sandbox.slack import SlackStandIn
from tests.integration.harness import RunningBot, start_bot

pytestmark = pytest.mark.integration
DISCOUNT = "djg8LshfUkfM00:033002100311:23272058"
MEAL = "0aM9AbvdhI0400:011001900111:07517347"


@pytest.fixture(scope="module")
def debug_bot(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningBot]:
    running = start_bot(
        ekuaibao, slack, tmp_path_factory.mktemp("debug"), broker=None, LOG_LEVEL="DEBUG"
    )
    yield running
    running.stop()


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
    ekuaibao.fail_next(12, status=502)  # a lookup-level retry path too (4 tries x 3 calls)
    failing = bot.command(MEAL)
    response_urls.append(failing.response_url)
    bot.reply(failing, n=2)
    time.sleep(1.0)

    log = bot.log()
    assert "DEBUG" in log  # the scenario really ran at DEBUG
    secrets = {
        "signing secret": bot.secret,
        "bot token": "xoxb-sandbox-token",
        "app security": "sandbox-app-security",
        "app key": "sandbox-app-key",
    }
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
