"""The doctor's pure parts: reading manifest.yml, the scope diff, the clock and Redis verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.doctor import invalid_settings
from bot.doctor.broker import persistence_verdict
from bot.doctor.checks import fail, public_url, same_origin
from bot.doctor.manifest import (
    ManifestError,
    bot_scopes,
    find_manifest,
    granted,
    missing_scopes,
    read_bot_scopes,
)
from bot.doctor.slack import clock_verdict
from sandbox.slack import BOT_SCOPES
from tasks.settings import Settings

REPO = Path(__file__).resolve().parents[3]


def test_the_repository_manifest_asks_for_what_the_slack_stand_in_grants() -> None:
    assert read_bot_scopes(REPO / "manifest.yml") == list(BOT_SCOPES)


def test_block_list_with_comments_and_other_lists_around_it() -> None:
    text = """\
# top comment
oauth_config:
  redirect_urls:
    - https://example.com/oauth   # not a scope
  scopes:
    user:
      - search:read
    bot:
      - commands            # /invoice
      - "chat:write"
      # a whole-line comment in the list
      - 'users:read.email'
      - commands
settings:
  event_subscriptions:
    bot_events:
      - app_mention
"""
    assert bot_scopes(text) == ["commands", "chat:write", "users:read.email"]


def test_flow_list_and_items_at_the_keys_indentation() -> None:
    assert bot_scopes("oauth_config:\n  scopes:\n    bot: [commands, 'chat:write']\n") == [
        "commands",
        "chat:write",
    ]
    assert bot_scopes("oauth_config:\n  scopes:\n    bot:\n    - commands\n    - im:history\n") == [
        "commands",
        "im:history",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "oauth_config:\n  scopes:\n    user:\n      - commands\n",
        "oauth_config:\n  scopes:\n    bot: []\n",
        "scopes:\n  bot:\n    - commands\n",  # not under oauth_config
    ],
)
def test_no_bot_scopes_is_an_error(text: str) -> None:
    with pytest.raises(ManifestError, match=r"no oauth_config\.scopes\.bot"):
        bot_scopes(text)


def test_finding_the_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ManifestError, match="does not exist"):
        find_manifest(tmp_path / "missing.yml")
    monkeypatch.chdir(tmp_path)
    assert find_manifest() == REPO / "manifest.yml"  # the checkout's, from anywhere
    (tmp_path / "manifest.yml").write_text("oauth_config:\n  scopes:\n    bot: [commands]\n")
    assert find_manifest() == tmp_path / "manifest.yml"  # the current folder's first


def test_scope_diff_keeps_the_manifests_order() -> None:
    have = granted(" commands,chat:write , users:read,,extra:scope")
    assert have == ["commands", "chat:write", "users:read", "extra:scope"]
    wanted = ["commands", "reactions:write", "chat:write", "im:history", "users:read"]
    assert missing_scopes(wanted, have) == ["reactions:write", "im:history"]
    assert missing_scopes(wanted, granted(None)) == wanted
    assert missing_scopes(["commands"], have) == []


@pytest.mark.parametrize(
    ("skew", "socket_mode", "status", "words"),
    [
        (0.0, False, "ok", "within 1 s of Slack's"),
        (-12.4, False, "ok", "within 12 s of Slack's"),
        (29.0, False, "ok", "within 29 s"),
        (30.0, False, "warn", "30 s ahead of Slack's; at 5 minutes"),
        (-299.0, False, "warn", "4 min 59 s behind Slack's"),
        (300.0, False, "fail", "5 min 0 s ahead of Slack's — Slack's requests are refused"),
        (-3700.0, False, "fail", "61 min 40 s behind"),
        (400.0, True, "warn", "6 min 40 s ahead of Slack's — Socket Mode does not mind"),
    ],
)
def test_clock_verdict(skew: float, socket_mode: bool, status: str, words: str) -> None:
    check = clock_verdict(skew, socket_mode)
    assert check.status == status
    assert words in check.detail


@pytest.mark.parametrize(
    ("answer", "status"),
    [("yes", "ok"), (b"yes", "ok"), ("no", "fail"), (b"no", "fail"), (None, "warn")],
)
def test_redis_persistence_verdict(answer: str | bytes | None, status: str) -> None:
    assert persistence_verdict(answer).status == status


def test_urls_are_shown_without_credentials() -> None:
    assert public_url("redis://:pw@127.0.0.1:6379/12") == "redis://127.0.0.1:6379/12"
    assert public_url("amqp://guest:pw@rabbit//") == "amqp://rabbit//"
    assert public_url("https://app.ekuaibao.com/?accessToken=x#y") == "https://app.ekuaibao.com"
    assert public_url("http://[::1]:8080/api/") == "http://[::1]:8080/api/"


def test_same_origin() -> None:
    assert same_origin("https://app.ekuaibao.com/", "https://APP.ekuaibao.com")
    assert same_origin("https://app.ekuaibao.com:443", "https://app.ekuaibao.com/")
    assert not same_origin("https://dd2.hosecloud.com/", "https://dd2.ekuaibao.com")
    assert not same_origin("http://app.ekuaibao.com", "https://app.ekuaibao.com")


def test_a_line_never_carries_a_token() -> None:
    line = fail("Slack bot token", "refused xoxb-123-456-abc").line()
    assert line == "✗ Slack bot token: refused xox?-[redacted]"


def test_invalid_settings_name_the_setting_not_the_value() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(slack_bot_token="xoxp-user-token", ekuaibao_timeout_s=-1)  # type: ignore[arg-type]
    lines = [check.line() for check in invalid_settings(caught.value)]
    assert len(lines) == 2
    assert lines[0].startswith("✗ Setting SLACK_BOT_TOKEN: invalid: Value error, a bot token")
    assert lines[1].startswith("✗ Setting EKUAIBAO_TIMEOUT_S: invalid:")
    assert not any("xoxp-user-token" in line for line in lines)
