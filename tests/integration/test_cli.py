"""Start-up refuses bad settings with one line naming the setting, and exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def run(args: list[str], tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "EKUAIBAO_", "CELERY_"))
    }
    clean.update(STATE_DIR=str(tmp_path), **env)
    return subprocess.run(args, env=clean, cwd=tmp_path, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["-m", "bot.cli", "serve", "--http"], {}, "SLACK_BOT_TOKEN is missing"),
        (
            ["-m", "bot.cli", "serve", "--http"],
            {"SLACK_BOT_TOKEN": "xoxb-1"},
            "SLACK_SIGNING_SECRET is missing",
        ),
        (
            ["-m", "bot.cli", "serve", "--http"],
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"},
            "EKUAIBAO_APP_KEY is missing",
        ),
        (["-m", "bot.cli", "serve"], {"SLACK_BOT_TOKEN": "oops"}, "SLACK_BOT_TOKEN is invalid"),
        (["-m", "bot.cli", "worker"], {}, "EKUAIBAO_APP_KEY is missing"),
        (
            ["-m", "bot.cli", "worker"],
            {
                "EKUAIBAO_APP_KEY": "k",
                "EKUAIBAO_APP_SECURITY": "s",
                "CELERY_BROKER_URL": "kafka://x",
            },
            "CELERY_BROKER_URL is invalid",
        ),
        (
            ["-m", "celery", "-A", "tasks", "worker", "-P", "threads"],
            {},
            "EKUAIBAO_APP_KEY is missing",
        ),
    ],
)
def test_bad_settings_stop_startup_with_one_line(tmp_path, args, env, named) -> None:
    result = run([sys.executable, *args], tmp_path, **env)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("invoicebot:")]
    assert len(lines) == 1 and named in lines[0]
    assert "Traceback" not in result.stderr
    for value in env.values():
        if value not in ("s", "k"):
            assert value not in lines[0]


def test_socket_mode_with_a_refused_app_token_says_so(tmp_path) -> None:
    from sandbox.slack import SlackStandIn

    with SlackStandIn() as slack:
        result = run(
            [sys.executable, "-m", "bot.cli", "serve", "--no-worker"],
            tmp_path,
            SLACK_BOT_TOKEN="xoxb-sandbox-token",
            SLACK_APP_TOKEN="xapp-1-refused",
            SLACK_API_URL=slack.api_url,
        )
        assert [c.method for c in slack.api_calls] == ["apps.connections.open"]
    assert result.returncode == 2
    assert "Slack refused SLACK_APP_TOKEN (invalid_auth)" in result.stderr
    assert "xapp-1-refused" not in result.stderr + result.stdout
