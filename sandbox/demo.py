"""`invoicebot demo`: the real bot and worker against local Slack and Ekuaibao stand-ins.

Nothing leaves 127.0.0.1 and nothing needs an account or Redis: the bot runs in HTTP mode
(or, with --socket-mode, in Socket Mode over a local WebSocket) with the embedded broker
and its worker child, exactly as `invoicebot serve` would.
"""

from __future__ import annotations

import contextlib
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
from typing import TYPE_CHECKING

import httpx

from sandbox.approve_demo import ApprovalScene, approval_scene, print_approval_scene
from sandbox.ekuaibao import DEMO_INVOICE_IDS, REPORT_CODE, EkuaibaoStandIn
from sandbox.preview import builder_url, to_html
from sandbox.review_demo import APPROVER2_SLACK, print_review_scene, review_scene
from sandbox.signing import (
    block_action,
    block_action_payload,
    slash_command,
    slash_command_fields,
)
from sandbox.slack import SlackStandIn
from sandbox.terminal import to_text
from tasks.environment import without_settings
from tasks.settings import fail

if TYPE_CHECKING:  # needs `websockets`, a dev extra; imported when the demo runs in Socket Mode
    from sandbox.socket_mode import SocketModeStandIn

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


class _Http:
    """Requests as Slack sends them in HTTP mode: signed POSTs to /slack/events."""

    def __init__(self, url: str, secret: str) -> None:
        self.url, self.secret = url, secret

    def command(self, text: str, response_url: str) -> tuple[float, dict[str, object]]:
        body, headers = slash_command(self.secret, text, response_url)
        started = time.perf_counter()
        ack = httpx.post(self.url, content=body, headers=headers, timeout=10)
        ack_ms = (time.perf_counter() - started) * 1000
        ack.raise_for_status()
        return ack_ms, ack.json() if ack.content else {}

    def click(self, action_id: str, value: str, response_url: str) -> None:
        body, headers = block_action(self.secret, action_id, value, response_url)
        httpx.post(self.url, content=body, headers=headers, timeout=10).raise_for_status()


class _Socket:
    """Requests as Slack sends them in Socket Mode: envelopes over the bot's WebSocket."""

    def __init__(self, socket_mode: SocketModeStandIn) -> None:
        self.socket_mode = socket_mode

    def command(self, text: str, response_url: str) -> tuple[float, dict[str, object]]:
        envelope_id = self.socket_mode.send(
            "slash_commands", dict(slash_command_fields(text, response_url))
        )
        ack = self.socket_mode.wait_ack(envelope_id, timeout=10)
        return ack.latency_s * 1000, dict(ack.payload or {})

    def click(self, action_id: str, value: str, response_url: str) -> None:
        payload = block_action_payload(action_id, value, response_url)
        self.socket_mode.wait_ack(self.socket_mode.send("interactive", payload), timeout=10)


def _wait_connected(log_path: Path, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Socket Mode: the bot says so once Slack's `hello` arrived over the WebSocket."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the bot exited with status {proc.returncode}")
        if "connected in Socket Mode" in log_path.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise RuntimeError("the bot did not connect in Socket Mode in time")


def _lookup(
    bot: _Http | _Socket, slack: SlackStandIn, text: str
) -> tuple[float, float, list[dict[str, object]], dict[str, object]]:
    """One `/invoice`; returns ack ms, reply ms, the reply messages and the ack body."""
    response_url = slack.new_response_url()
    sent_at = time.time()
    ack_ms, ack_body = bot.command(text, response_url)
    first = slack.wait_for_posts(response_url, 1, timeout=60)
    reply_ms = (first[0].at - sent_at) * 1000
    time.sleep(0.3)  # a long reply may come as several messages
    posts = slack.posts_for(response_url)
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
    bot: _Http | _Socket, slack: SlackStandIn, message: dict[str, object]
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
    bot.click("refresh_links", refresh[0]["value"], response_url)
    return slack.wait_for_posts(response_url, 1, timeout=60)[0].body


def _socket_mode_stand_in() -> SocketModeStandIn:
    try:
        from sandbox.socket_mode import SocketModeStandIn
    except ImportError:
        fail(
            "the Socket Mode demo needs the websockets package for its Slack stand-in: "
            "pip install -e '.[dev]'"
        )
    return SocketModeStandIn()


def run_demo(keep: bool = False, socket_mode_demo: bool = False) -> int:
    socket_mode = _socket_mode_stand_in() if socket_mode_demo else None
    folder = Path(tempfile.mkdtemp(prefix="invoicebot-demo-"))
    secret = secrets.token_hex(16)
    events_token = secrets.token_urlsafe(24)
    clock = _LaterClock()
    with contextlib.ExitStack() as stack:
        ekuaibao = stack.enter_context(EkuaibaoStandIn(clock=clock))
        if socket_mode is not None:
            stack.enter_context(socket_mode)
        slack = stack.enter_context(SlackStandIn(bot_token=BOT_TOKEN, socket_mode=socket_mode))
        port = _free_port()
        env = without_settings(os.environ)
        env.update(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=secret,
            SLACK_API_URL=slack.api_url,
            SLACK_RESPONSE_URL_PREFIXES=slack.response_url_prefix,
            EKUAIBAO_BASE_URL=ekuaibao.base_url,
            EKUAIBAO_APP_KEY="sandbox-app-key",
            EKUAIBAO_APP_SECURITY="sandbox-app-security",
            STATE_DIR=str(folder / "state"),
            LOG_LEVEL="INFO",
            EKUAIBAO_EVENTS_TOKEN=events_token,
            APPROVALS_IN_SLACK="true",
        )
        command = [sys.executable, "-m", "bot.cli", "serve", "--http", "--port", str(port)]
        mode = "HTTP mode"
        if socket_mode is not None:
            del env["SLACK_SIGNING_SECRET"]  # Socket Mode needs none
            env["SLACK_APP_TOKEN"] = socket_mode.app_token
            # Ekuaibao's approval messages still arrive over HTTP, on --port
            command = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)]
            mode = "Socket Mode"
        log_path = folder / "bot.log"
        print(
            f"Starting the bot ({mode}, embedded broker, worker child) and local stand-ins "
            "for Slack and Ekuaibao…",
            flush=True,
        )
        with log_path.open("wb") as log_file:
            bot = subprocess.Popen(
                command,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=folder,
            )
            try:
                bot_in: _Http | _Socket
                if socket_mode is None:
                    _wait_healthy(f"http://127.0.0.1:{port}/healthz", bot)
                    bot_in = _Http(f"http://127.0.0.1:{port}/slack/events", secret)
                else:
                    _wait_connected(log_path, bot)
                    bot_in = _Socket(socket_mode)
                text = " ".join(DEMO_INVOICE_IDS)
                cold_ack, cold_reply, _, _ = _lookup(bot_in, slack, text)
                ack_ms, reply_ms, messages, ack_body = _lookup(bot_in, slack, text)
                report_text = f"report {REPORT_CODE}"
                report_ack, report_ms, report_messages, _ = _lookup(bot_in, slack, report_text)
                old_link = _first_link(messages[0])
                events_url = f"http://127.0.0.1:{port}/ekuaibao/events/{events_token}"
                scene = review_scene(ekuaibao, slack, events_url)
                approval: ApprovalScene | None = None
                if isinstance(bot_in, _Http):  # Socket Mode: the same, over the socket
                    approval = approval_scene(
                        slack, bot_in.url, secret, APPROVER2_SLACK, "D0APPROVER2", scene.second
                    )
                clock.offset = 2 * 3600  # two hours later, the signed links have expired
                old_status = httpx.get(old_link, timeout=5).status_code if old_link else 0
                refreshed = _click_refresh(bot_in, slack, messages[0])
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
    print_review_scene(scene)
    if approval is not None:
        print_approval_scene(approval)
    print(f"Report lookup: ack {report_ack:.0f} ms, reply {report_ms:.0f} ms.")
    print(
        f"Ack latency{' over the socket' if socket_mode else ''}: {ack_ms:.0f} ms "
        f"(Slack allows 3000 ms). Reply arrived {reply_ms:.0f} ms "
        f"after the command (first, cold request: ack {cold_ack:.0f} ms, "
        f"reply {cold_reply:.0f} ms)."
    )
    print(f"Block Kit JSON of the reply: {reply_path}")
    page = folder / "replies.html"
    page.write_text(to_html([*messages, *report_messages]), encoding="utf-8")
    print(f"The replies as a web page: {page}")
    print("Each reply in Slack's Block Kit Builder, rendered by Slack (open while signed in):")
    for label, message in [("lookup", m) for m in messages] + [
        ("report", m) for m in report_messages
    ]:
        print(f"  {label}: {builder_url(message)}")
    if keep:
        print(f"Logs and state: {folder}")
    else:
        shutil.rmtree(folder / "state", ignore_errors=True)
    return 0
