"""A burst of `/invoice` commands through a worker kill, a Redis restart and a flaky Ekuaibao.

What a person would notice is counted: every command acknowledged, one final reply each
(a result or an error, the "keep trying" note aside), none lost, none doubled, and no
secret in any log. The bot runs with `--no-worker`; two `invoicebot worker` processes
consume from a private redis-server (restarting the shared one would disturb other tests).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.ekuaibao import DEMO_INVOICE_IDS, EkuaibaoStandIn, HttpRequest, HttpResponse
from sandbox.slack import ResponsePost, SlackStandIn
from tasks.shared.texts import texts_for
from tests.integration.harness import (
    BOT_TOKEN,
    RunningBot,
    bot_env,
    free_port,
    start_bot,
    start_worker,
)

pytestmark = pytest.mark.timeout(300)

N_COMMANDS = 60
BURST_S = 10.0
SENDER_THREADS = 4
SEED = 20_240_611
FAIL_RATE = 0.30
STALL_RATE = 0.10
STALL_S = 2.0
RETRY_WINDOW_S = 60.0
#: Seconds after the burst starts.
KILL_WORKER_AT = 3.0
RESTART_WORKER_AT = 4.5
RESTART_REDIS_AT = 6.5
#: After the last reply is due: how long a late duplicate gets to show up.
SETTLE_S = 2.0
SUMMARY_FILE = Path(__file__).with_name("last-run.txt")
SETTINGS = {
    "WORKER_CONCURRENCY": "4",
    "EKUAIBAO_RETRY_BASE_S": "0.2",
    "EKUAIBAO_RETRY_WINDOW_S": str(int(RETRY_WINDOW_S)),
    "EKUAIBAO_TIMEOUT_S": "1.5",
    # A killed worker's lookups must come back inside the test's window (10 min in production).
    "BROKER_VISIBILITY_TIMEOUT_S": "30",
}
EN = texts_for("en")
RETRYING_PREFIX = EN.retrying.split("{", 1)[0]
BAD_GATEWAY = "<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>"


# -- processes we own ------------------------------------------------------------------------


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def sleep_until(moment: float) -> None:
    """Bounded by construction: `moment` is a point on the burst's fixed timeline."""
    time.sleep(max(0.0, moment - time.monotonic()))


def unavailable(reason: str) -> None:
    """In CI a missing Redis fails the suite; on a laptop it skips with the reason."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} and CI=true")
    pytest.skip(reason)


class PrivateRedis:
    """A redis-server of our own, configured as production should be: with an append-only
    file, so a restart keeps the queue (a broker without persistence loses it by design)."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.log_path = folder / "redis.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/10"

    def start(self) -> bool:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        args += [
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--dir",
            str(self.log_path.parent),
            "--daemonize",
            "no",
        ]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        return wait_until(self.ping, 10)

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self) -> bool:
        self.stop()
        return self.start()


class Worker:
    """One `invoicebot worker`; its log survives restarts (appended)."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env, self.log_path = env, log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = start_worker(self.env, self.log_path)

    def ready_count(self) -> int:
        return self.log_path.read_text(errors="replace").count(" ready.")

    def kill(self) -> None:
        """SIGKILL the whole worker: its supervisor and the Celery process it runs."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# -- a flaky Ekuaibao ------------------------------------------------------------------------


def make_flaky(monkeypatch: pytest.MonkeyPatch, ekuaibao: EkuaibaoStandIn) -> Counter[str]:
    """~30 % of API calls (auth included) answer a 502 HTML page, ~10 % stall 2 s first;
    the dice come from a fixed seed. Returns the live count of injected faults."""
    original = ekuaibao._dispatch
    dice, lock = random.Random(SEED), threading.Lock()
    injected: Counter[str] = Counter()

    def dispatch(req: HttpRequest, body: Any) -> HttpResponse:
        if req.path.startswith("/api/"):
            with lock:
                roll = dice.random()
            if roll < FAIL_RATE:
                injected["502"] += 1
                return HttpResponse.text(502, BAD_GATEWAY, "text/html;charset=UTF-8")
            if roll < FAIL_RATE + STALL_RATE:
                injected["stall"] += 1
                time.sleep(STALL_S)  # the fault itself: longer than the bot's 1.5 s timeout
        return original(req, body)

    monkeypatch.setattr(ekuaibao, "_dispatch", dispatch)
    return injected


# -- the burst -------------------------------------------------------------------------------


@dataclass
class Sent:
    index: int
    text: str
    offset: float  # seconds after the burst started
    response_url: str
    status: int | None = None
    ack_text: str = ""
    ack_ms: float = 0.0
    error: str = ""

    @property
    def queued(self) -> bool:
        """The ack promised a reply later; anything else was the whole answer."""
        return self.status == 200 and self.ack_text.startswith(":mag:")


def command_texts() -> list[str]:
    """Mixed valid ids, 1–3 per command, the same every run."""
    dice = random.Random(SEED)
    return [" ".join(dice.sample(DEMO_INVOICE_IDS, dice.randint(1, 3))) for _ in range(N_COMMANDS)]


def send_burst(bot: RunningBot, texts: list[str], started: float) -> list[Sent]:
    """N commands on a fixed timeline over BURST_S, from a few sender threads."""
    results: list[Sent | None] = [None] * len(texts)

    def sender(indices: range) -> None:
        for i in indices:
            sleep_until(started + i * BURST_S / len(texts))
            url = bot.slack.new_response_url()
            sent = Sent(i, texts[i], time.monotonic() - started, url)
            try:
                command = bot.command(texts[i], response_url=url)
                sent.status, sent.ack_ms = command.ack.status_code, command.ack_ms
                sent.ack_text = ack_text(command.ack)
            except httpx.HTTPError as exc:
                sent.error = type(exc).__name__
            results[i] = sent

    threads = [
        threading.Thread(target=sender, args=(range(k, len(texts), SENDER_THREADS),))
        for k in range(SENDER_THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=BURST_S + 60)
    return [s for s in results if s is not None]


def ack_text(response: httpx.Response) -> str:
    try:
        return str(response.json().get("text", ""))
    except ValueError:
        return ""


def run_chaos(
    started: float, victim: Worker, redis: PrivateRedis, events: list[str]
) -> threading.Thread:
    """Kill a worker, bring it back, restart Redis: each at a fixed point of the burst."""

    def chaos() -> None:
        sleep_until(started + KILL_WORKER_AT)
        victim.kill()
        events.append(f"{time.monotonic() - started:.1f}s worker SIGKILLed")
        sleep_until(started + RESTART_WORKER_AT)
        victim.start()
        events.append(f"{time.monotonic() - started:.1f}s worker restarted")
        sleep_until(started + RESTART_REDIS_AT)
        up = redis.restart()
        events.append(f"{time.monotonic() - started:.1f}s redis restarted (up={up})")

    thread = threading.Thread(target=chaos, name="chaos")
    thread.start()
    return thread


# -- counting ----------------------------------------------------------------------------------


def final_posts(slack: SlackStandIn, response_url: str) -> list[ResponsePost]:
    """Accepted posts that are a result or an error: not the "keep trying" note, not the
    continuation of a long result."""
    return [
        p
        for p in slack.posts_for(response_url)
        if p.status == 200
        and not str(p.body.get("text", "")).startswith(RETRYING_PREFIX)
        and p.body.get("text") != EN.continued
    ]


def kind_of(post: ResponsePost) -> str:
    """Which final answer a person saw: the result, or which error."""
    text = str(post.body.get("text", ""))
    for kind, template in (
        ("gave_up", EN.unavailable),
        ("internal_error", EN.internal_error),
        ("bad_request", EN.bad_request),
    ):
        if text.startswith(template.split("{", 1)[0]):
            return kind
    return "result" if text.startswith(EN.fallback.split("{", 1)[0]) else "other"


def wait_for_replies(slack: SlackStandIn, sent: list[Sent], started: float) -> None:
    """Until every queued command has its final reply, or its retry window has surely run
    out (the last one queued, plus the window, plus one slow attempt)."""
    queued = [s for s in sent if s.queued]
    last = max((s.offset for s in queued), default=0.0)
    deadline = started + last + RETRY_WINDOW_S + 8
    wait_until(
        lambda: all(final_posts(slack, s.response_url) for s in queued),
        max(0.0, deadline - time.monotonic()),
        step=0.25,
    )
    time.sleep(SETTLE_S)  # bounded: one settle for late duplicates


def secrets_to_look_for(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, sent: list[Sent]
) -> dict[str, set[str]]:
    signatures: set[str] = set()
    for url in ekuaibao.signed_urls_served():
        for match in re.finditer(r"Signature=([^&]+)", url):
            signatures |= {match.group(1), urllib.parse.unquote(match.group(1))}
    return {
        "signing secret": {bot.secret},
        "bot token": {BOT_TOKEN},
        "app security": {"sandbox-app-security"},
        "response_url key": {s.response_url.rsplit("/", 1)[-1] for s in sent},
        "accessToken": {
            c.query["accessToken"] for c in ekuaibao.calls if c.query.get("accessToken")
        },
        "Signature": signatures,
    }


def leaks_in(logs: list[Path], secrets: dict[str, set[str]]) -> Counter[str]:
    text = "\n".join(p.read_text(errors="replace") for p in logs if p.exists())
    return Counter(
        {kind: sum(1 for s in values if s and s in text) for kind, values in secrets.items()}
    )


@dataclass
class Outcome:
    sent: int
    acked: int
    replied: int
    lost: int
    duplicated: int
    leaked: int
    details: str

    @property
    def summary(self) -> str:
        return (
            f"faults: sent={self.sent} acked={self.acked} replied={self.replied} "
            f"lost={self.lost} duplicated={self.duplicated} leaked={self.leaked}"
        )


def seen(finals: list[ResponsePost]) -> list[ResponsePost]:
    """The final replies a person sees as separate messages. A worker killed between its
    post and its ledger mark leaves no trace that it posted, so the redelivered lookup posts
    again (never posting would lose replies instead); that post replaces the first in place
    (`replace_original`) with the same kind of answer and fresher links, so it is one
    message, redrawn, not a second answer."""
    shown: list[ResponsePost] = []
    for post in finals:
        redraw = post.body.get("replace_original") is True and shown
        if redraw and kind_of(post) == kind_of(shown[-1]):
            shown[-1] = post
        else:
            shown.append(post)
    return shown


def tally(
    slack: SlackStandIn,
    sent: list[Sent],
    leaks: Counter[str],
    context: dict[str, Any],
) -> Outcome:
    """The summary numbers, and a details line to explain them (`context` is printed)."""
    finals = {s.index: final_posts(slack, s.response_url) for s in sent}
    queued = [s for s in sent if s.queued]
    answered_in_ack = [s for s in sent if s.status == 200 and not s.queued]
    lost = [s for s in queued if not finals[s.index]]
    # Two final replies, or a final reply after an ack that was already the whole answer.
    doubled = [s for s in queued if len(seen(finals[s.index])) > 1]
    doubled += [s for s in answered_in_ack if finals[s.index]]
    redrawn = [s for s in queued if len(finals[s.index]) > len(seen(finals[s.index]))]
    rejected = sum(1 for s in sent for p in slack.posts_for(s.response_url) if p.status != 200)
    details = (
        f"details: queued={len(queued)} answered_in_ack={len(answered_in_ack)} "
        f"ack_failed={sum(1 for s in sent if s.status != 200)} "
        f"slow_acks={sum(1 for s in sent if s.ack_ms > 3000)} "
        f"max_ack_ms={max((s.ack_ms for s in sent), default=0):.0f} "
        f"rejected_posts={rejected} "
        f"final_kinds={dict(Counter(kind_of(p) for posts in finals.values() for p in posts))} "
        f"leaked_kinds={ {k: v for k, v in leaks.items() if v} } "
        f"lost_sent_at={[round(s.offset, 1) for s in lost]} "
        f"doubled_sent_at={[round(s.offset, 1) for s in doubled]} "
        f"redrawn_in_place_sent_at={[round(s.offset, 1) for s in redrawn]} "
        f"ack_texts={dict(Counter(s.ack_text[:40] for s in answered_in_ack))} "
        + " ".join(f"{k}={v}" for k, v in context.items())
    )
    return Outcome(
        sent=len(sent),
        acked=sum(1 for s in sent if s.status == 200),
        replied=sum(1 for s in sent if finals[s.index]),
        lost=len(lost),
        duplicated=len(doubled),
        leaked=sum(leaks.values()),
        details=details,
    )


# -- the test ----------------------------------------------------------------------------------


def test_a_burst_through_worker_kill_redis_restart_and_flaky_ekuaibao(
    ekuaibao: EkuaibaoStandIn,
    slack: SlackStandIn,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    if shutil.which("redis-server") is None:
        unavailable("redis-server is not on PATH")
    redis = PrivateRedis(tmp_path)
    workers: list[Worker] = []
    bot: RunningBot | None = None
    try:
        if not redis.start():
            unavailable(f"the private redis-server did not start on port {redis.port}")
        bot = start_bot(ekuaibao, slack, tmp_path, broker=redis.url, worker=False, **SETTINGS)
        env = bot_env(ekuaibao, slack, tmp_path / "state", redis.url, bot.secret, **SETTINGS)
        workers = [Worker(env, tmp_path / f"worker-{name}.log") for name in ("a", "b")]
        for worker in workers:
            worker.start()
        assert wait_until(lambda: all(w.ready_count() for w in workers), 30), "workers not ready"
        injected = make_flaky(monkeypatch, ekuaibao)

        events: list[str] = []
        started = time.monotonic()
        chaos = run_chaos(started, workers[0], redis, events)
        sent = send_burst(bot, command_texts(), started)
        chaos.join(timeout=60)
        wait_for_replies(slack, sent, started)

        logs = [bot.log_path, *(w.log_path for w in workers)]
        secrets = secrets_to_look_for(bot, ekuaibao, sent)
        context = {
            "ekuaibao_calls": len(ekuaibao.calls),
            "injected": dict(injected),
            "secrets_checked": {k: len(v) for k, v in secrets.items()},
            "workers_alive_at_end": [w.proc is not None and w.proc.poll() is None for w in workers],
            "events": events,
        }
        outcome = tally(slack, sent, leaks_in(logs, secrets), context)
    finally:
        if bot is not None:
            bot.stop()
        for worker in workers:
            worker.stop()
        redis.stop()

    print(f"\n{outcome.summary}\n{outcome.details}")
    SUMMARY_FILE.write_text(f"{outcome.summary}\n{outcome.details}\n")
    assert outcome.sent == N_COMMANDS
    assert (outcome.lost, outcome.duplicated, outcome.leaked) == (0, 0, 0), outcome.summary
