"""Run the real bot (`invoicebot serve --http`) with its real worker against loopback stand-ins."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from sandbox.ekuaibao import EkuaibaoStandIn
from sandbox.signing import (
    block_action,
    block_action_payload,
    event,
    event_callback,
    interaction,
    message_shortcut_payload,
    slash_command,
    slash_command_fields,
)
from sandbox.slack import ApiCall, ResponsePost, SlackStandIn
from sandbox.socket_mode import SocketModeStandIn
from tasks.environment import without_settings
from tests import services

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[2]
#: This process's own (tests/services.py), flushed by the tests.
REDIS_URL = services.redis_url(services.BROKER_DB)
RABBITMQ_URL = services.RABBITMQ_URL
BOT_TOKEN = "xoxb-sandbox-token"


reachable = services.reachable
redis_reachable = services.redis_up
rabbitmq_reachable = services.rabbitmq_up


def wait_for(check: Callable[[], T | None], timeout: float = 20, what: str = "it") -> T:
    """The first truthy answer of `check`, polled until `timeout`: the state that ends the wait."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"waited {timeout} s for {what}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Command:
    ack: httpx.Response
    ack_ms: float
    response_url: str
    sent_at: float = field(default_factory=time.time)


#: Seconds from each command to its first reply, by broker, for the suite's summary.
REPLY_TIMES: dict[str, list[float]] = {}


def broker_kind(url: str) -> str:
    return {"amqp": "rabbitmq"}.get(url.split(":", 1)[0], url.split(":", 1)[0])


@dataclass
class RunningBot:
    proc: subprocess.Popen[bytes]
    port: int
    secret: str
    log_path: Path
    slack: SlackStandIn
    broker_url: str = ""
    extra_secrets: list[str] = field(default_factory=list)

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def command(
        self,
        text: str,
        *,
        secret: str | None = None,
        timestamp: int | None = None,
        response_url: str | None = None,
        user_id: str = "U0SANDBOX",
    ) -> Command:
        url = response_url or self.slack.new_response_url()
        body, headers = slash_command(
            secret or self.secret, text, url, timestamp=timestamp, user_id=user_id
        )
        started = time.perf_counter()
        ack = httpx.post(self.events_url, content=body, headers=headers, timeout=10)
        return Command(ack, (time.perf_counter() - started) * 1000, url)

    def reply(self, command: Command, n: int = 1, timeout: float = 30) -> list[ResponsePost]:
        posts = self.slack.wait_for_posts(command.response_url, n, timeout=timeout)
        if self.broker_url:
            REPLY_TIMES.setdefault(broker_kind(self.broker_url), []).append(
                posts[0].at - command.sent_at
            )
        return posts

    def event(
        self, inner: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None
    ) -> httpx.Response:
        """An Events API callback, as Slack signs and (re)delivers it."""
        envelope = event_callback(inner, event_id=event_id)
        body, headers = event(self.secret, envelope)
        if retry_num:
            headers.update(
                {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
            )
        return httpx.post(self.events_url, content=body, headers=headers, timeout=10)

    def click(
        self,
        action_id: str,
        value: str,
        *,
        user: str = "U0SANDBOX",
        message_ts: str = "1700000000.000100",
        channel: str = "C0SANDBOX",
    ) -> tuple[httpx.Response, str]:
        """A signed block_actions payload for one of our buttons; returns its response_url."""
        response_url = self.slack.new_response_url()
        body, headers = block_action(
            self.secret,
            action_id,
            value,
            response_url,
            user=user,
            message_ts=message_ts,
            channel=channel,
        )
        return httpx.post(self.events_url, content=body, headers=headers, timeout=10), response_url

    def shortcut(
        self, message: dict[str, Any], *, user: str = "U0SANDBOX"
    ) -> tuple[httpx.Response, str]:
        response_url = self.slack.new_response_url()
        payload = message_shortcut_payload(message, response_url, user=user)
        body, headers = interaction(self.secret, payload)
        return httpx.post(self.events_url, content=body, headers=headers, timeout=10), response_url

    def wait_api(
        self, method: str, n: int = 1, timeout: float = 30, since: int = 0
    ) -> list[ApiCall]:
        """The first n calls of a Slack Web API method made after `since` calls in total."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            calls = [c for c in self.slack.api_calls[since:] if c.method == method]
            if len(calls) >= n:
                return calls
            time.sleep(0.05)
        raise TimeoutError(f"{method}: {len(calls)} of {n} calls in {timeout} s")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def bot_env(
    ekuaibao: EkuaibaoStandIn,
    slack: SlackStandIn,
    state: Path,
    broker: str | None,
    secret: str,
    **extra: str,
) -> dict[str, str]:
    env = without_settings(os.environ)
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=secret,
        SLACK_API_URL=slack.api_url,
        SLACK_RESPONSE_URL_PREFIXES=slack.response_url_prefix,
        EKUAIBAO_BASE_URL=ekuaibao.base_url,
        EKUAIBAO_APP_KEY="sandbox-app-key",
        EKUAIBAO_APP_SECURITY="sandbox-app-security",
        EKUAIBAO_TIMEOUT_S="1.5",
        EKUAIBAO_RETRY_BASE_S="0.2",
        EKUAIBAO_RETRY_WINDOW_S="6",
        EKUAIBAO_RATE_LIMIT="200",
        EKUAIBAO_RATE_BURST="200",
        # The tests' one Slack user stands for many people (a dozen commands at once): not
        # one person's flood. test_fairness.py sets the cap to test it.
        LOOKUPS_PER_PERSON="100",
        WORKER_CONCURRENCY="8",
        # One Celery process per worker, as the tests count on (a lookup left queued for
        # "the next worker"); test_worker_processes.py runs one per core.
        WORKER_PROCESSES="1",
        STATE_DIR=str(state),
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    if broker:
        env["CELERY_BROKER_URL"] = broker
    env.update(extra)
    return env


def start_bot(
    ekuaibao: EkuaibaoStandIn,
    slack: SlackStandIn,
    folder: Path,
    *,
    broker: str | None,
    worker: bool = True,
    **extra: str,
) -> RunningBot:
    folder.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(16)
    port = free_port()
    log_path = folder / f"bot-{port}.log"
    args = [
        sys.executable,
        "-m",
        "bot.cli",
        "serve",
        "--http",
        "--port",
        str(port),
        "--worker" if worker else "--no-worker",
    ]
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            args,
            env=bot_env(ekuaibao, slack, folder / "state", broker, secret, **extra),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=folder,
        )
    from tasks.broker.embedded import embedded_url

    broker_url = broker or embedded_url(folder / "state" / "broker.sqlite3")
    bot = RunningBot(proc, port, secret, log_path, slack, broker_url)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"bot exited ({proc.returncode}):\n{bot.log()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/livez", timeout=1).status_code == 200:
                return bot
        except httpx.HTTPError:
            time.sleep(0.05)
    bot.stop()
    raise RuntimeError(f"bot not healthy in time:\n{bot.log()}")


WORKER_COMMANDS = {
    "invoicebot worker": [sys.executable, "-m", "bot.cli", "worker"],
    "celery -A tasks worker": [
        *(sys.executable, "-m", "celery", "-A", "tasks", "worker", "-P", "threads", "-c", "4"),
    ],
}


def start_worker(
    env: dict[str, str], log_path: Path, how: str = "invoicebot worker"
) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log_file:
        return subprocess.Popen(
            WORKER_COMMANDS[how],
            env=env,
            cwd=log_path.parent,
            start_new_session=True,  # its own process group, so a test can kill it whole
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )


@dataclass
class SocketCommand:
    envelope_id: str
    response_url: str


@dataclass
class SocketBot:
    """The bot in Socket Mode: requests go as envelopes over the stand-in's WebSocket."""

    proc: subprocess.Popen[bytes]
    log_path: Path
    slack: SlackStandIn
    socket_mode: SocketModeStandIn
    escape_slashes: bool = False  # write `/` as `\/` in envelopes, as Slack's JSON does

    def send(self, kind: str, payload: dict[str, Any]) -> str:
        return self.socket_mode.send(kind, payload, escape_slashes=self.escape_slashes)

    def command(self, text: str, *, user_id: str = "U0SANDBOX") -> SocketCommand:
        url = self.slack.new_response_url()
        fields = slash_command_fields(text, url, user_id=user_id)
        return SocketCommand(self.send("slash_commands", dict(fields)), url)

    def event(self, inner: dict[str, Any], *, event_id: str | None = None) -> str:
        return self.send("events_api", event_callback(inner, event_id=event_id))

    def click(self, action_id: str, value: str, *, user: str = "U0SANDBOX") -> SocketCommand:
        url = self.slack.new_response_url()
        payload = block_action_payload(action_id, value, url, user=user)
        return SocketCommand(self.send("interactive", payload), url)

    def shortcut(self, message: dict[str, Any], *, user: str = "U0SANDBOX") -> SocketCommand:
        url = self.slack.new_response_url()
        payload = message_shortcut_payload(message, url, user=user)
        return SocketCommand(self.send("interactive", payload), url)

    def reply(self, command: SocketCommand, n: int = 1, timeout: float = 30) -> list[ResponsePost]:
        return self.slack.wait_for_posts(command.response_url, n, timeout=timeout)

    wait_api = RunningBot.wait_api

    log = RunningBot.log
    stop = RunningBot.stop

    def cpu_seconds(self) -> float:
        """User + system CPU of the bot process itself (not its worker child), from /proc."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_socket_bot(
    ekuaibao: EkuaibaoStandIn,
    slack: SlackStandIn,
    folder: Path,
    *,
    worker: bool = True,
    port: int | None = None,
    **extra: str,
) -> SocketBot:
    """`invoicebot serve` with SLACK_APP_TOKEN and no --http; ready once it said it connected."""
    socket_mode = slack.socket_mode
    assert socket_mode is not None, "SlackStandIn(socket_mode=...) hands out the WebSocket URL"
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / f"socket-bot-{free_port()}.log"
    env = bot_env(ekuaibao, slack, folder / "state", None, "unused", **extra)
    del env["SLACK_SIGNING_SECRET"]  # Socket Mode needs none
    env["SLACK_APP_TOKEN"] = socket_mode.app_token
    args = [sys.executable, "-m", "bot.cli", "serve", "--worker" if worker else "--no-worker"]
    if port is not None:  # where Ekuaibao's approval messages and /healthz are served
        args += ["--port", str(port)]
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            args, env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=folder
        )
    bot = SocketBot(proc, log_path, slack, socket_mode)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"bot exited ({proc.returncode}):\n{bot.log()}")
        if "connected in Socket Mode" in bot.log():
            socket_mode.wait_open(timeout=5)
            return bot
        time.sleep(0.05)
    bot.stop()
    raise RuntimeError(f"bot did not connect in time:\n{bot.log()}")
