"""`invoicebot demo`: the real bot and worker against local Slack and Ekuaibao stand-ins.

Nothing leaves 127.0.0.1 and nothing needs an account or Redis: the bot runs in HTTP mode
with the embedded broker and its worker child, exactly as `invoicebot serve` would.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from sandbox.ekuaibao import DEMO_INVOICE_IDS, REPORT_CODE, EkuaibaoStandIn
from sandbox.signing import block_action, slash_command
from sandbox.slack import SlackStandIn
from sandbox.terminal import to_text

BOT_TOKEN = "xoxb-sandbox-token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the bot exited with status {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the bot did not become healthy in time")


def _lookup(
    bot_url: str, secret: str, slack: SlackStandIn, text: str
) -> tuple[float, float, list[dict[str, object]], dict[str, object]]:
    """One signed `/invoice`; returns ack ms, reply ms, the reply messages and the ack body."""
    response_url = slack.new_response_url()
    body, headers = slash_command(secret, text, response_url)
    sent_at = time.time()
    started = time.perf_counter()
    ack = httpx.post(bot_url, content=body, headers=headers, timeout=10)
    ack_ms = (time.perf_counter() - started) * 1000
    ack.raise_for_status()
    first = slack.wait_for_posts(response_url, 1, timeout=60)
    reply_ms = (first[0].at - sent_at) * 1000
    time.sleep(0.3)  # a long reply may come as several messages
    posts = slack.posts_for(response_url)
    ack_body = ack.json() if ack.content else {}
    return ack_ms, reply_ms, [p.body for p in posts], ack_body


class _LaterClock:
    """Ekuaibao's clock in the demo, so it can show a refresh "two hours later"."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def _first_link(message: dict[str, object]) -> str | None:
    blocks = message.get("blocks")
    for block in blocks if isinstance(blocks, list) else []:
        accessory = block.get("accessory") or {}
        if accessory.get("url"):
            return str(accessory["url"])
    return None


def _click_refresh(
    bot_url: str, secret: str, slack: SlackStandIn, message: dict[str, object]
) -> dict[str, object] | None:
    """Press the reply's "Refresh links" button, as Slack would send the click."""
    blocks = message.get("blocks")
    refresh = [
        element
        for block in (blocks if isinstance(blocks, list) else [])
        if block.get("type") == "actions"
        for element in block["elements"]
        if element.get("action_id") == "refresh_links"
    ]
    if not refresh:
        return None
    response_url = slack.new_response_url()
    body, headers = block_action(secret, "refresh_links", refresh[0]["value"], response_url)
    httpx.post(bot_url, content=body, headers=headers, timeout=10).raise_for_status()
    return slack.wait_for_posts(response_url, 1, timeout=60)[0].body


def run_demo(keep: bool = False) -> int:
    folder = Path(tempfile.mkdtemp(prefix="invoicebot-demo-"))
    secret = secrets.token_hex(16)
    clock = _LaterClock()
    with EkuaibaoStandIn(clock=clock) as ekuaibao, SlackStandIn(bot_token=BOT_TOKEN) as slack:
        port = _free_port()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "EKUAIBAO_", "CELERY_"))
        }
        env.update(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=secret,
            SLACK_API_URL=slack.api_url,
            EKUAIBAO_BASE_URL=ekuaibao.base_url,
            EKUAIBAO_APP_KEY="sandbox-app-key",
            EKUAIBAO_APP_SECURITY="sandbox-app-security",
            STATE_DIR=str(folder / "state"),
            LOG_LEVEL="INFO",
        )
        log_path = folder / "bot.log"
        print(
            "Starting the bot (HTTP mode, embedded broker, worker child) and local stand-ins "
            "for Slack and Ekuaibao…",
            flush=True,
        )
        with log_path.open("wb") as log_file:
            bot = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve", "--http", "--port", str(port)],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=folder,
            )
            try:
                _wait_healthy(f"http://127.0.0.1:{port}/healthz", bot)
                events = f"http://127.0.0.1:{port}/slack/events"
                text = " ".join(DEMO_INVOICE_IDS)
                cold_ack, cold_reply, _, _ = _lookup(events, secret, slack, text)
                ack_ms, reply_ms, messages, ack_body = _lookup(events, secret, slack, text)
                report_text = f"report {REPORT_CODE}"
                report_ack, report_ms, report_messages, _ = _lookup(
                    events, secret, slack, report_text
                )
                old_link = _first_link(messages[0])
                clock.offset = 2 * 3600  # two hours later, the signed links have expired
                old_status = httpx.get(old_link, timeout=5).status_code if old_link else 0
                refreshed = _click_refresh(events, secret, slack, messages[0])
                new_link = _first_link(refreshed) if refreshed else None
                new_status = httpx.get(new_link, timeout=5).status_code if new_link else 0
            except (RuntimeError, TimeoutError) as exc:
                print(f"demo failed: {exc}. The bot's log is in {log_path}", file=sys.stderr)
                return 1
            finally:
                bot.send_signal(signal.SIGTERM)
                try:
                    bot.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    bot.kill()
    reply_path = folder / "reply.json"
    reply_path.write_text(json.dumps(messages, ensure_ascii=False, indent=2))
    (folder / "report-reply.json").write_text(
        json.dumps(report_messages, ensure_ascii=False, indent=2)
    )
    print(f"\nYou typed:  /invoice {text}\n")
    print("The bot answered at once, privately:")
    print("  " + to_text(ack_body).replace("\n", "\n  "))
    print("\nThen replaced it with:\n")
    for message in messages:
        print(to_text(message))
        print()
    print(f"You typed:  /invoice {report_text}\n")
    for message in report_messages:
        print(to_text(message))
        print()
    if refreshed is not None:
        print(
            f"Two hours later the first reply's links have expired (opening one now gets HTTP "
            f"{old_status} from Ekuaibao's file store). You press “Refresh links” on it, and it "
            f"is replaced in place with freshly signed links (HTTP {new_status}):\n"
        )
        print(
            "\n".join(
                line
                for line in to_text(refreshed).splitlines()
                if "expire" in line or "[ Open" in line
            )
        )
        print()
    print(f"Report lookup: ack {report_ack:.0f} ms, reply {report_ms:.0f} ms.")
    print(
        f"Ack latency: {ack_ms:.0f} ms (Slack allows 3000 ms). Reply arrived {reply_ms:.0f} ms "
        f"after the command (first, cold request: ack {cold_ack:.0f} ms, "
        f"reply {cold_reply:.0f} ms)."
    )
    print(f"Block Kit JSON of the reply: {reply_path}")
    if keep:
        print(f"Logs and state: {folder}")
    else:
        shutil.rmtree(folder / "state", ignore_errors=True)
    return 0
