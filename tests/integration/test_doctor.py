"""`invoicebot doctor` run as a subprocess against good and broken set-ups of the stand-ins."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.ekuaibao import LOCATION_PATH, EkuaibaoStandIn
from sandbox.slack import BOT_SCOPES, SlackStandIn
from tests import services
from tests.integration.conftest import require_redis
from tests.integration.harness import free_port

BOT_TOKEN = "xoxb-doctor-bot-token"
APP_TOKEN = "xapp-1-doctor-app-token"
SIGNING_SECRET = secrets.token_hex(16)
APP_KEY = "doctor-app-key"
APP_SECURITY = "doctor-app-security"
SECRETS = (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, APP_KEY, APP_SECURITY)


@pytest.fixture
def slack_api() -> Iterator[SlackStandIn]:
    with SlackStandIn(bot_token=BOT_TOKEN, app_token=APP_TOKEN) as standin:
        yield standin


@pytest.fixture
def ekuaibao_api() -> Iterator[EkuaibaoStandIn]:
    with EkuaibaoStandIn(app_key=APP_KEY, app_security=APP_SECURITY) as standin:
        yield standin


def good_env(slack_api: SlackStandIn, ekuaibao_api: EkuaibaoStandIn, state: Path) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_api.api_url,
        "EKUAIBAO_BASE_URL": ekuaibao_api.base_url,
        "EKUAIBAO_APP_KEY": APP_KEY,
        "EKUAIBAO_APP_SECURITY": APP_SECURITY,
        "EKUAIBAO_TIMEOUT_S": "3",
        "ALLOWED_SLACK_USERS": "U0SANDBOX",
        "STATE_DIR": str(state),
    }


def doctor(
    env: dict[str, str], cwd: Path, *args: str, unset: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "EKUAIBAO_", "CELERY_", "ACCESS_", "ALLOWED_", "STATE_DIR"))
    }
    clean.update({k: v for k, v in env.items() if k not in unset})
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "doctor", *args],
        env=clean,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = result.stdout + result.stderr
    for secret in SECRETS:
        assert secret not in out
    assert "Traceback" not in out
    assert "ticket=" not in out  # the Socket Mode URL
    assert "accessToken" not in out
    return result


def line(result: subprocess.CompletedProcess[str], name: str) -> str:
    """The one line of check `name`."""
    found = [x for x in result.stdout.splitlines() if x[2:].startswith(name + ":")]
    assert len(found) == 1, result.stdout
    return found[0]


def test_a_good_http_setup_passes_every_check(slack_api, ekuaibao_api, tmp_path) -> None:
    started = time.perf_counter()
    result = doctor(good_env(slack_api, ekuaibao_api, tmp_path / "state"), tmp_path)
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert all(x[0] in "✓–" for x in lines[:-1]), result.stdout
    assert lines[-1].startswith("All 11 checks passed")
    assert line(result, "Slack bot token") == (
        "✓ Slack bot token: workspace Sandbox (T0SANDBOX), bot @invoice-bot"
    )
    assert line(result, "Slack scopes").startswith(f"✓ Slack scopes: all {len(BOT_SCOPES)}")
    assert line(result, "Slack app token").startswith("– Slack app token: skipped, Socket Mode")
    assert line(result, "Clock").startswith("✓ Clock: within")
    assert line(result, "Ekuaibao credentials").startswith(
        f"✓ Ekuaibao credentials: accepted by {ekuaibao_api.base_url} (tenant {ekuaibao_api.corp_id})"
    )
    assert line(result, "Ekuaibao platform").startswith("✓")
    assert line(result, "Broker").startswith("✓ Broker: embedded (")
    assert line(result, "Redis persistence").startswith("– Redis persistence: skipped")
    # what it asked: auth.test with the bot token, and a fresh Ekuaibao token for this tenant
    assert [c.method for c in slack_api.api_calls] == ["auth.test"]
    assert slack_api.api_calls[0].token == BOT_TOKEN
    assert len(ekuaibao_api.calls_to("getAccessToken")) == 1
    assert ekuaibao_api.calls_to(LOCATION_PATH)[0].query == {"corpId": ekuaibao_api.corp_id}
    # nothing was written to the state folder (it need not even exist yet)
    assert not (tmp_path / "state").exists()
    assert elapsed < 10


def test_socket_mode_checks_the_app_token_instead_of_the_signing_secret(
    slack_api, ekuaibao_api, tmp_path
) -> None:
    env = good_env(slack_api, ekuaibao_api, tmp_path) | {"SLACK_APP_TOKEN": APP_TOKEN}
    result = doctor(env, tmp_path, unset=("SLACK_SIGNING_SECRET",))
    assert result.returncode == 0, result.stdout
    assert line(result, "Slack app token").startswith("✓ Slack app token: Slack offers")
    assert line(result, "Slack signing secret").startswith("– Slack signing secret: skipped")
    assert "Socket Mode" in line(result, "Settings")
    calls = slack_api.calls_to("apps.connections.open")
    assert [c.token for c in calls] == [APP_TOKEN]


def test_a_refused_app_token_says_where_to_make_one(slack_api, ekuaibao_api, tmp_path) -> None:
    env = good_env(slack_api, ekuaibao_api, tmp_path) | {"SLACK_APP_TOKEN": "xapp-1-revoked-token"}
    result = doctor(env, tmp_path)
    assert result.returncode == 1
    assert line(result, "Slack app token") == (
        "✗ Slack app token: Slack refused SLACK_APP_TOKEN (invalid_auth) — create one under "
        "Basic Information → App-Level Tokens with connections:write"
    )
    assert "xapp-1-revoked-token" not in result.stdout
    # --http: the app token is not needed, so not checked
    http = doctor(env, tmp_path, "--http")
    assert http.returncode == 0, http.stdout
    assert (
        line(http, "Slack app token") == "– Slack app token: skipped, Socket Mode is off (--http)"
    )


def test_missing_scopes_are_named(slack_api, ekuaibao_api, tmp_path) -> None:
    slack_api.granted_scopes = tuple(
        s for s in BOT_SCOPES if s not in ("reactions:write", "users:read")
    )
    result = doctor(good_env(slack_api, ekuaibao_api, tmp_path), tmp_path)
    assert result.returncode == 1
    assert line(result, "Slack scopes") == (
        "✗ Slack scopes: missing reactions:write, users:read — reinstall the app from "
        "manifest.yml (Install App → Reinstall to Workspace)"
    )
    assert result.stdout.splitlines()[-1].startswith("1 of 11 checks failed")


def test_a_scope_only_previews_use_is_needed_only_with_previews(
    slack_api, ekuaibao_api, tmp_path
) -> None:
    """An install made before previews existed lacks files:write: fine until PREVIEWS=all."""
    slack_api.granted_scopes = tuple(s for s in BOT_SCOPES if s != "files:write")
    try:
        result = doctor(good_env(slack_api, ekuaibao_api, tmp_path), tmp_path)
        assert line(result, "Slack scopes") == (
            "✓ Slack scopes: all that manifest.yml asks for but files:write, which this setup "
            "does not use"
        )
        assert result.returncode == 0, result.stdout
        env = good_env(slack_api, ekuaibao_api, tmp_path) | {"PREVIEWS": "all"}
        result = doctor(env, tmp_path)
        assert line(result, "Slack scopes").startswith("✗ Slack scopes: missing files:write — ")
        assert result.returncode == 1
    finally:
        slack_api.granted_scopes = BOT_SCOPES


def test_the_scopes_come_from_the_manifest_given(slack_api, ekuaibao_api, tmp_path) -> None:
    manifest = tmp_path / "other.yml"
    manifest.write_text(
        "oauth_config:\n  scopes:\n    bot:\n      - commands\n      - links:write  # unfurls\n"
    )
    result = doctor(
        good_env(slack_api, ekuaibao_api, tmp_path), tmp_path, "--manifest", str(manifest)
    )
    assert line(result, "Slack scopes").startswith("✗ Slack scopes: missing links:write — ")
    result = doctor(good_env(slack_api, ekuaibao_api, tmp_path), tmp_path, "--manifest", "nope.yml")
    assert line(result, "Slack scopes") == (
        "✗ Slack scopes: cannot compare with manifest.yml: nope.yml does not exist"
    )
    assert result.returncode == 1


def test_a_wrong_bot_token_fails_and_skips_what_needs_it(slack_api, ekuaibao_api, tmp_path) -> None:
    env = good_env(slack_api, ekuaibao_api, tmp_path) | {"SLACK_BOT_TOKEN": "xoxb-not-this-one"}
    result = doctor(env, tmp_path)
    assert result.returncode == 1
    assert line(result, "Slack bot token").startswith(
        "✗ Slack bot token: Slack refused SLACK_BOT_TOKEN (invalid_auth) — copy it again"
    )
    assert line(result, "Slack scopes") == ("– Slack scopes: skipped, needs a working bot token")
    assert line(result, "Clock").startswith("✓ Clock")  # Slack's refusal still has a Date
    assert "xoxb-not-this-one" not in result.stdout


def test_missing_settings_each_get_their_line(slack_api, ekuaibao_api, tmp_path) -> None:
    env = good_env(slack_api, ekuaibao_api, tmp_path)
    result = doctor(
        env, tmp_path, unset=("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "EKUAIBAO_APP_SECURITY")
    )
    assert result.returncode == 1
    assert line(result, "Slack bot token").startswith(
        "✗ Slack bot token: SLACK_BOT_TOKEN is not set"
    )
    assert line(result, "Slack signing secret").startswith(
        "✗ Slack signing secret: SLACK_SIGNING_SECRET is not set — HTTP mode needs it"
    )
    assert line(result, "Ekuaibao credentials").startswith(
        "✗ Ekuaibao credentials: EKUAIBAO_APP_SECURITY not set — get them in 合思+"
    )
    assert line(result, "Clock").startswith("✓ Clock")  # api.test needs no token
    assert [c.method for c in slack_api.api_calls] == ["api.test"]
    assert ekuaibao_api.calls == []


def test_an_invalid_setting_exits_2_without_its_value(slack_api, ekuaibao_api, tmp_path) -> None:
    env = good_env(slack_api, ekuaibao_api, tmp_path) | {
        "SLACK_BOT_TOKEN": "xoxp-a-user-token-by-mistake",
        "EKUAIBAO_TIMEOUT_S": "-1",
    }
    result = doctor(env, tmp_path)
    assert result.returncode == 2
    assert line(result, "Setting SLACK_BOT_TOKEN").startswith(
        "✗ Setting SLACK_BOT_TOKEN: invalid: Value error, a bot token starts with xoxb-"
    )
    assert line(result, "Setting EKUAIBAO_TIMEOUT_S").startswith("✗")
    assert "xoxp-a-user-token-by-mistake" not in result.stdout
    assert slack_api.api_calls == [] and ekuaibao_api.calls == []


def test_open_access_is_a_warning_not_a_failure(slack_api, ekuaibao_api, tmp_path) -> None:
    result = doctor(
        good_env(slack_api, ekuaibao_api, tmp_path), tmp_path, unset=("ALLOWED_SLACK_USERS",)
    )
    assert result.returncode == 0
    assert line(result, "Access").startswith("⚠ Access: ACCESS_MODE=open: anyone")
    assert "with a warning" in result.stdout.splitlines()[-1]


@pytest.mark.parametrize(
    ("offset_s", "status", "words"),
    [
        (-400, 1, "✗ Clock: 6 min 40 s ahead of Slack's — Slack's requests are refused"),
        (90, 0, "⚠ Clock: 1 min 30 s behind Slack's; at 5 minutes"),
    ],
)
def test_a_clock_off_from_slacks_is_named(ekuaibao_api, tmp_path, offset_s, status, words) -> None:
    with SlackStandIn(bot_token=BOT_TOKEN, clock=lambda: time.time() + offset_s) as slack_api:
        result = doctor(good_env(slack_api, ekuaibao_api, tmp_path), tmp_path)
    assert result.returncode == status, result.stdout
    assert line(result, "Clock").startswith(words)


def test_slack_unreachable(ekuaibao_api, tmp_path) -> None:
    with SlackStandIn(bot_token=BOT_TOKEN) as slack_api:
        env = good_env(slack_api, ekuaibao_api, tmp_path)
    env["SLACK_API_URL"] = f"http://127.0.0.1:{free_port()}/api/"
    result = doctor(env, tmp_path)
    assert result.returncode == 1
    assert line(result, "Slack bot token").startswith(
        "✗ Slack bot token: could not reach Slack at http://127.0.0.1:"
    )
    assert line(result, "Clock").startswith("⚠ Clock: could not compare")


def test_rejected_ekuaibao_credentials(slack_api, ekuaibao_api, tmp_path) -> None:
    env = good_env(slack_api, ekuaibao_api, tmp_path) | {
        "EKUAIBAO_APP_SECURITY": "doctor-wrong-security"
    }
    result = doctor(env, tmp_path)
    assert result.returncode == 1
    assert line(result, "Ekuaibao credentials").startswith(
        f"✗ Ekuaibao credentials: {ekuaibao_api.base_url} refused EKUAIBAO_APP_KEY/EKUAIBAO_APP_SECURITY"
        " (403) — check both"
    )
    assert "EKUAIBAO_BASE_URL is your platform's host" in result.stdout
    assert line(result, "Ekuaibao platform") == (
        "– Ekuaibao platform: skipped, needs accepted credentials"
    )
    assert "doctor-wrong-security" not in result.stdout


def test_a_base_url_that_is_not_the_tenants_platform(slack_api, ekuaibao_api, tmp_path) -> None:
    ekuaibao_api.platform_url = "https://dd2.hosecloud.com"
    result = doctor(good_env(slack_api, ekuaibao_api, tmp_path), tmp_path)
    assert result.returncode == 1
    assert line(result, "Ekuaibao platform") == (
        f"✗ Ekuaibao platform: the tenant lives on https://dd2.hosecloud.com, not "
        f"{ekuaibao_api.base_url} — set EKUAIBAO_BASE_URL=https://dd2.hosecloud.com"
    )
    assert line(result, "Ekuaibao credentials").startswith("✓")


def test_ekuaibao_unreachable_or_failing(slack_api, ekuaibao_api, tmp_path) -> None:
    env = good_env(slack_api, ekuaibao_api, tmp_path) | {
        "EKUAIBAO_BASE_URL": f"http://127.0.0.1:{free_port()}"
    }
    result = doctor(env, tmp_path)
    assert result.returncode == 1
    assert line(result, "Ekuaibao credentials").startswith(
        "✗ Ekuaibao credentials: could not reach Ekuaibao (ConnectError) at http://127.0.0.1:"
    )
    # a host that is not Ekuaibao at all: 404 on getAccessToken
    env["EKUAIBAO_BASE_URL"] = slack_api.base_url + "/not-ekuaibao"
    result = doctor(env, tmp_path)
    assert line(result, "Ekuaibao credentials").startswith(
        f"✗ Ekuaibao credentials: {slack_api.base_url}/not-ekuaibao answered HTTP 404 to getAccessToken — is "
        "EKUAIBAO_BASE_URL an Ekuaibao host?"
    )


def test_an_embedded_broker_folder_that_cannot_be_made(slack_api, ekuaibao_api, tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = doctor(good_env(slack_api, ekuaibao_api, blocker / "state"), tmp_path)
    assert result.returncode == 1
    assert line(result, "Broker").startswith(
        f"✗ Broker: embedded ({blocker}/state/broker.sqlite3): cannot create files in {blocker}"
    )


def test_redis_unreachable_and_amqp_unreachable(slack_api, ekuaibao_api, tmp_path) -> None:
    env = good_env(slack_api, ekuaibao_api, tmp_path)
    port = free_port()
    result = doctor(
        env | {"CELERY_BROKER_URL": f"redis://:doctor-pw@127.0.0.1:{port}/12"}, tmp_path
    )
    assert result.returncode == 1
    assert line(result, "Broker") == (
        f"✗ Broker: cannot reach Redis at redis://127.0.0.1:{port}/12 (ConnectionError) — is it "
        "running, and is CELERY_BROKER_URL right?"
    )
    assert line(result, "Redis persistence") == "– Redis persistence: skipped, needs the broker"
    assert "doctor-pw" not in result.stdout
    result = doctor(
        env | {"CELERY_BROKER_URL": f"amqp://guest:doctor-pw@127.0.0.1:{port}//"}, tmp_path
    )
    assert result.returncode == 1
    assert line(result, "Broker").startswith(f"✗ Broker: cannot connect to amqp://127.0.0.1:{port}")
    assert line(result, "Shared state").startswith(
        "⚠ Shared state: shared state (de-duplication, reply ledger, Ekuaibao token and budget) "
        "is kept in SQLite under"
    )
    assert "doctor-pw" not in result.stdout
    result = doctor(env | {"STATE_REDIS_URL": f"redis://:doctor-pw@127.0.0.1:{port}/12"}, tmp_path)
    assert result.returncode == 1
    assert line(result, "Shared state") == (
        f"✗ Shared state: cannot reach Redis at redis://127.0.0.1:{port}/12 (ConnectionError) — "
        "is it running, and is STATE_REDIS_URL right?"
    )
    assert line(result, "Broker").startswith("✓ Broker: embedded")
    assert "doctor-pw" not in result.stdout


def test_redis_broker_reports_its_persistence(slack_api, ekuaibao_api, tmp_path) -> None:
    require_redis()
    import redis

    url = services.redis_url(services.DOCTOR_DB)
    try:  # what Redis itself says, read-only
        appendonly = redis.Redis.from_url(url).config_get("appendonly").get("appendonly")
    except redis.ResponseError:
        appendonly = None
    result = doctor(
        good_env(slack_api, ekuaibao_api, tmp_path) | {"CELERY_BROKER_URL": url}, tmp_path
    )
    assert line(result, "Broker") == f"✓ Broker: Redis at {url} answers PING"
    persistence = line(result, "Redis persistence")
    if appendonly == "yes":
        assert persistence.startswith("✓ Redis persistence: appendonly yes")
        assert result.returncode == 0, result.stdout
    elif appendonly is None:
        assert persistence.startswith("⚠ Redis persistence: unknown")
        assert result.returncode == 0, result.stdout
    else:
        assert persistence.startswith("✗ Redis persistence: appendonly is off")
        assert result.returncode == 1
    # the same Redis for shared state only, beside the embedded broker
    result = doctor(
        good_env(slack_api, ekuaibao_api, tmp_path) | {"STATE_REDIS_URL": url}, tmp_path
    )
    assert result.returncode == 0, result.stdout
    assert line(result, "Shared state") == f"✓ Shared state: Redis at {url} answers PING"
    assert line(result, "Redis persistence").startswith("– Redis persistence: skipped")


def test_deciding_in_slack_says_why_its_buttons_are_hidden(
    slack_api, ekuaibao_api, tmp_path
) -> None:
    env = good_env(slack_api, ekuaibao_api, tmp_path / "state")
    off = doctor(env, tmp_path)
    assert line(off, "Deciding in Slack").startswith("✓ Deciding in Slack: off: review cards")
    env["APPROVALS_IN_SLACK"] = "true"
    on = doctor(env, tmp_path)
    assert line(on, "Deciding in Slack").startswith("✓ Deciding in Slack: on: 单据审批 licensed")
    ekuaibao_api.approvals.licensed = False
    try:
        hidden = doctor(env, tmp_path)
    finally:
        ekuaibao_api.approvals.licensed = True
    assert hidden.returncode == 0  # a warning: lookups still work
    assert line(hidden, "Deciding in Slack").startswith(
        "⚠ Deciding in Slack: buttons hidden: 单据审批 is expired — renew 单据审批"
    )
