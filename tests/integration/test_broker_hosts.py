"""Several hosts on RabbitMQ: two bots and two workers sharing state through STATE_REDIS_URL
answer once; without shared state, each says it must run on one host.

Every test here needs its broker: under CI=true a missing one fails instead of skipping.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery

from sandbox.ekuaibao import EkuaibaoStandIn
from sandbox.slack import SlackStandIn
from tasks.contracts import LOOKUP_TASK, LookupRequest
from tests import services
from tests.integration.conftest import broker_for, flush_redis
from tests.integration.harness import (
    RABBITMQ_URL,
    RunningBot,
    bot_env,
    start_bot,
    start_worker,
)
from tests.integration.test_brokers import MEAL, stop_group

pytestmark = pytest.mark.timeout(180)

#: Shared state of the multi-host tests: its own database, apart from the broker's.
STATE_REDIS = services.redis_url(services.STATE_DB)
ONE_HOST = "every bot and worker must run on this host"


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
