"""Redis and RabbitMQ as operators run them: hung brokers, killed workers, several hosts.

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
from celery import Celery

from sandbox.ekuaibao import EkuaibaoStandIn
from sandbox.slack import SlackStandIn
from tasks.contracts import LOOKUP_TASK, LookupRequest
from tasks.slack.texts import texts_for
from tests.integration.conftest import broker_for, flush_redis
from tests.integration.harness import (
    RABBITMQ_URL,
    REDIS_URL,
    RunningBot,
    bot_env,
    start_bot,
    start_worker,
)
from tests.integration.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
MEAL = "0aM9AbvdhI0400:011001900111:07517347"
#: Shared state of the multi-host tests: its own database, apart from the broker's.
STATE_REDIS = REDIS_URL.rsplit("/", 1)[0] + "/10"
ONE_HOST = "every bot and worker must run on this host"
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
        "redis": (6379, "redis://", "/" + REDIS_URL.rsplit("/", 1)[1]),
        "rabbitmq": (5672, "amqp://guest:guest@", "//"),
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
    time.sleep(2.1)  # past the probe's cache
    started = time.monotonic()
    probe = httpx.get(ready, timeout=5)
    assert probe.status_code == 503 and probe.json()["broker"] == "unreachable"
    assert time.monotonic() - started < 3
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


# -- several hosts on RabbitMQ ---------------------------------------------------------


@pytest.fixture
def rabbit_hosts(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path: Path
) -> Iterator[tuple[list[RunningBot], list[Path]]]:
    """Two bots and two workers on RabbitMQ sharing state through STATE_REDIS_URL, each
    with its own STATE_DIR, as on four hosts."""
    broker = broker_for("rabbitmq")
    flush_redis(STATE_REDIS)
    settings = {"STATE_REDIS_URL": STATE_REDIS}
    bots = [
        start_bot(ekuaibao, slack, tmp_path / f"bot{n}", broker=broker, worker=False, **settings)
        for n in range(2)
    ]
    logs = [tmp_path / f"worker{n}.log" for n in range(2)]
    workers = []
    for n, log in enumerate(logs):
        (tmp_path / f"host{n}").mkdir()
        env = bot_env(ekuaibao, slack, tmp_path / f"host{n}", broker, "unused", **settings)
        workers.append(start_worker(env, log))
    try:
        yield bots, logs
    finally:
        for proc in workers:
            stop_group(proc)
        for bot in bots:
            bot.stop()


def test_two_bots_and_two_workers_share_one_token_and_answer_once(
    rabbit_hosts: tuple[list[RunningBot], list[Path]], ekuaibao: EkuaibaoStandIn
) -> None:
    (one, two), logs = rabbit_hosts
    tokens_before = ekuaibao.tokens_issued
    ekuaibao.delay_s = 0.3  # lookups overlap, so both workers take some
    commands = [(one if n % 2 else two).command(MEAL) for n in range(16)]
    for command in commands:
        one.reply(command, timeout=40)
    ekuaibao.delay_s = 0.0
    assert all(len(one.slack.posts_for(c.response_url)) == 1 for c in commands)
    for log in logs:
        assert " found, " in log.read_text(), f"{log.name} answered nothing"
    assert ekuaibao.tokens_issued - tokens_before == 1  # one token for every host
    for bot in (one, two):
        assert ONE_HOST not in bot.log()
    for log in logs:
        assert ONE_HOST not in log.read_text()


def test_a_retried_event_reaching_the_other_bot_is_answered_once(
    rabbit_hosts: tuple[list[RunningBot], list[Path]],
) -> None:
    (one, two), _ = rabbit_hosts
    since = len(one.slack.api_calls)
    mention = {
        "type": "app_mention",
        "channel": "C0SANDBOX",
        "user": "U0SANDBOX",
        "ts": f"{time.time():.6f}",
        "text": f"<@U0SANDBOXBOT> {MEAL}",
    }
    assert one.event(mention, event_id="EvHOSTS1").status_code == 200
    assert two.event(mention, event_id="EvHOSTS1", retry_num=1).status_code == 200
    one.wait_api("chat.postEphemeral", since=since)
    time.sleep(2.0)
    answers = [c for c in one.slack.api_calls[since:] if c.method == "chat.postEphemeral"]
    assert len(answers) == 1


def test_a_redelivered_lookup_is_not_answered_twice_by_two_workers(
    rabbit_hosts: tuple[list[RunningBot], list[Path]],
) -> None:
    (one, _), _ = rabbit_hosts
    celery = Celery(broker=RABBITMQ_URL)
    celery.conf.update(task_serializer="json")
    url = one.slack.new_response_url()
    request = LookupRequest(
        ids=(MEAL,), response_url=url, user_id="U0SANDBOX", channel_id="C0SANDBOX"
    )
    try:
        for _ in range(4):  # as if redelivered while both workers are free
            celery.send_task(
                LOOKUP_TASK, args=[request.model_dump(mode="json")], queue="invoicebot"
            )
        one.slack.wait_for_posts(url, 1, timeout=30)
        time.sleep(2.0)
        assert len(one.slack.posts_for(url)) == 1
    finally:
        celery.close()


def test_rabbitmq_without_shared_state_warns_once_that_it_is_one_host(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    broker = broker_for("rabbitmq")
    bot = start_bot(ekuaibao, slack, tmp_path, broker=broker, worker=True)
    try:
        bot.reply(bot.command(MEAL), timeout=30)
        log = bot.log()
        # once by the bot, once by its worker child: not once per pool process
        assert log.count(ONE_HOST) == 2, log
        assert "STATE_REDIS_URL" in log
    finally:
        bot.stop()
