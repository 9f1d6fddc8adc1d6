"""Redis and RabbitMQ as operators run them: hung brokers, killed workers, long retries
(several hosts: test_broker_hosts.py).

Every test here needs its broker: under CI=true a missing one fails instead of skipping.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sandbox.ekuaibao import EkuaibaoStandIn
from sandbox.slack import SlackStandIn
from tasks.shared.texts import texts_for
from tests import services
from tests.integration.conftest import broker_for
from tests.integration.harness import (
    RunningBot,
    bot_env,
    start_bot,
    start_worker,
)
from tests.integration.tcp_proxy import TcpProxy

pytestmark = pytest.mark.timeout(180)
MEAL = "0aM9AbvdhI0400:011001900111:07517347"
RETRYING = texts_for("en").retrying.split("{", 1)[0]


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a worker and its Celery child, as a host that loses power."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            kill_group(proc)


def wait_until(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise TimeoutError(what)


# -- a broker that hangs ---------------------------------------------------------------


@pytest.fixture(params=["redis", "rabbitmq"])
def proxied(
    request: pytest.FixtureRequest,
    ekuaibao: EkuaibaoStandIn,
    slack: SlackStandIn,
    tmp_path: Path,
) -> Iterator[tuple[str, TcpProxy, RunningBot]]:
    """A bot (no worker) whose broker, Redis or RabbitMQ, sits behind a TcpProxy."""
    kind = request.param
    broker_for(kind)  # reachable and clean
    upstream, scheme, path = {
        "redis": (services.REDIS_PORT, "redis://", f"/{services.BROKER_DB}"),
        "rabbitmq": (services.RABBITMQ_PORT, "amqp://guest:guest@", "/" + services.VHOST),
    }[kind]
    with TcpProxy(upstream) as proxy:
        bot = start_bot(ekuaibao, slack, tmp_path, broker=proxy.url(scheme, path), worker=False)
        try:
            assert bot.command(MEAL).ack.json()["text"].startswith(":mag: Looking up")
            yield kind, proxy, bot
        finally:
            bot.stop()


def test_a_hung_broker_is_told_within_the_ack_and_readiness_says_so(
    proxied: tuple[str, TcpProxy, RunningBot],
) -> None:
    kind, proxy, bot = proxied
    ready = f"http://127.0.0.1:{bot.port}/readyz"
    assert httpx.get(ready).status_code == 200

    proxy.mode = "blackhole"  # connections stay open; nothing is answered
    command = bot.command(MEAL)
    assert command.ack.status_code == 200
    assert command.ack_ms < 3000, command.ack_ms
    assert "can't queue your lookup right now" in command.ack.json()["text"]
    print(f"{kind}: hung broker, 'can't queue' ack in {command.ack_ms:.0f} ms")
    probes: list[tuple[float, httpx.Response]] = []

    def unready() -> bool:  # once the probe's cache lapses, a fresh (bounded) round trip
        started = time.monotonic()
        probe = httpx.get(ready, timeout=5)
        probes.append((time.monotonic() - started, probe))
        return probe.status_code == 503

    wait_until(unready, 10, "readiness to say the broker is away")
    took, probe = probes[-1]
    assert probe.json()["broker"] == "unreachable" and took < 3, took
    assert httpx.get(f"http://127.0.0.1:{bot.port}/livez").status_code == 200

    proxy.mode = "forward"
    proxy.drop()
    wait_until(lambda: httpx.get(ready).status_code == 200, 10, "ready again")
    assert bot.command(MEAL).ack.json()["text"].startswith(":mag: Looking up")


def test_a_command_during_a_broker_restart_is_still_queued(
    proxied: tuple[str, TcpProxy, RunningBot],
) -> None:
    """The broker drops its connections and refuses new ones for 0.8 s, as a restart does:
    the publish keeps trying inside the ack, so the person still gets "Looking up"."""
    kind, proxy, bot = proxied
    proxy.mode = "refuse"
    proxy.drop()
    threading.Timer(0.8, lambda: setattr(proxy, "mode", "forward")).start()
    command = bot.command(MEAL)
    assert command.ack_ms < 3000, command.ack_ms
    assert command.ack.json()["text"].startswith(":mag: Looking up"), command.ack.text
    print(f"{kind}: queued through a 0.8 s restart, ack in {command.ack_ms:.0f} ms")


# -- a worker killed mid-lookup --------------------------------------------------------


@pytest.mark.parametrize("kind", ["redis", "rabbitmq"])
def test_a_killed_workers_lookup_is_answered_once_within_a_minute(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path: Path, kind: str
) -> None:
    broker = broker_for(kind)
    settings = {"EKUAIBAO_TIMEOUT_S": "20"}
    bot = start_bot(ekuaibao, slack, tmp_path, broker=broker, worker=False, **settings)
    env = bot_env(ekuaibao, slack, tmp_path / "state", broker, bot.secret, **settings)
    first = start_worker(env, tmp_path / "first.log")
    second = None
    try:
        warm = bot.command(MEAL)
        bot.reply(warm, timeout=30)
        ekuaibao.delay_s = 8.0  # every call now takes 8 s: the next lookup is in flight
        before = ekuaibao.arrivals
        command = bot.command(MEAL)
        wait_until(lambda: ekuaibao.arrivals > before, 15, "the lookup to call Ekuaibao")
        kill_group(first)
        killed = time.monotonic()
        ekuaibao.delay_s = 0.0
        second = start_worker(env, tmp_path / "second.log")
        [post] = slack.wait_for_posts(command.response_url, 1, timeout=75)
        waited = time.monotonic() - killed
        assert waited <= 60, f"answered {waited:.1f} s after the kill"
        assert "¥452.00" in str(post.body)
        time.sleep(2.0)
        assert len(slack.posts_for(command.response_url)) == 1
        print(f"{kind}: answered {waited:.1f} s after the worker was killed")
    finally:
        for proc in (first, second):
            if proc is not None:
                stop_group(proc)
        bot.stop()


def test_a_lookup_waiting_out_a_long_retry_keeps_its_lease(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    """Visibility 10 s, a retry 18–36 s away, a second idle worker: the waiting lookup is
    never handed to the other worker, so it runs once and answers once."""
    broker = broker_for("redis")
    settings = {
        "BROKER_VISIBILITY_TIMEOUT_S": "10",
        "EKUAIBAO_RETRY_BASE_S": "36",
        "EKUAIBAO_RETRY_WINDOW_S": "120",
    }
    bot = start_bot(ekuaibao, slack, tmp_path, broker=broker, worker=False, **settings)
    env = bot_env(ekuaibao, slack, tmp_path / "state", broker, bot.secret, **settings)
    workers = [start_worker(env, tmp_path / f"w{n}.log") for n in range(2)]
    try:
        warm = bot.command(MEAL)
        bot.reply(warm, timeout=30)
        ekuaibao.fail_next(1000, status=503)  # every call, repeats included, until reset
        command = bot.command(MEAL)
        [note] = slack.wait_for_posts(command.response_url, 1, timeout=30)
        assert str(note.body["text"]).startswith(RETRYING)
        ekuaibao.reset_faults()  # the retry, 18–36 s away, will succeed
        posts = slack.wait_for_posts(command.response_url, 2, timeout=60)
        assert "¥452.00" in str(posts[1].body)
        time.sleep(2.0)
        assert len(slack.posts_for(command.response_url)) == 2
        logs = "".join((tmp_path / f"w{n}.log").read_text() for n in range(2))
        assert "retrying in" in logs
        assert "already answered" not in logs and "another delivery" not in logs
    finally:
        for proc in workers:
            stop_group(proc)
        bot.stop()
