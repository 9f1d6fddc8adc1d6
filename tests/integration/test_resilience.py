"""Nothing lost, nothing doubled, Ekuaibao protected: the worker's side of issue 4."""

from __future__ import annotations

import time

import httpx
import pytest
from celery import Celery

from sandbox.ekuaibao import EkuaibaoStandIn
from sandbox.slack import SlackStandIn
from tasks.broker import embedded
from tasks.contracts import LOOKUP_TASK, LookupRequest
from tests import services
from tests.integration.conftest import on_each_broker, require_redis
from tests.integration.harness import RunningBot, start_bot

MEAL = "0aM9AbvdhI0400:011001900111:07517347"


@on_each_broker
def test_a_redelivered_task_answers_once(bot: RunningBot) -> None:
    """The same request delivered twice (a worker died after posting): one reply."""
    embedded.register()
    celery = Celery(broker=bot.broker_url)
    celery.conf.update(task_serializer="json", broker_transport_options={"polling_interval": 0.02})
    url = bot.slack.new_response_url()
    request = LookupRequest(
        ids=(MEAL,), response_url=url, user_id="U0SANDBOX", channel_id="C0SANDBOX"
    )
    for _ in range(3):
        celery.send_task(LOOKUP_TASK, args=[request.model_dump(mode="json")], queue="invoicebot")
    bot.slack.wait_for_posts(url, 1, timeout=30)
    time.sleep(2.0)
    assert len(bot.slack.posts_for(url)) == 1
    celery.close()


@on_each_broker
def test_a_used_up_response_url_falls_back_to_an_ephemeral_message(bot: RunningBot) -> None:
    command_url = bot.slack.new_response_url()
    for _ in range(5):  # Slack allows five posts per response_url
        httpx.post(command_url, json={"text": "x"}, timeout=5)
    since = len(bot.slack.api_calls)
    bot.command(MEAL, response_url=command_url)
    [call] = bot.wait_api("chat.postEphemeral", since=since)
    assert call.params["channel"] == "C0SANDBOX" and call.params["user"] == "U0SANDBOX"
    assert "¥452.00" in str(call.params)


@on_each_broker
def test_slack_rate_limiting_a_response_url_is_waited_out(bot: RunningBot) -> None:
    bot.slack.fail_next_posts(2, status=429)
    command = bot.command(MEAL)
    posts = bot.reply(command, n=3)
    assert [p.status for p in posts] == [429, 429, 200]
    time.sleep(1.0)
    delivered = [p for p in bot.slack.posts_for(command.response_url) if p.status == 200]
    assert len(delivered) == 1 and "¥452.00" in str(delivered[0].body)


@pytest.mark.parametrize("broker", ["embedded", "redis"])
def test_ekuaibao_calls_stay_within_the_shared_budget(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path, broker: str
) -> None:
    if broker == "redis":
        require_redis()
    # Its own Redis database: the module's long-lived bot must not take these tasks.
    own_redis = services.redis_url(services.SPARE_DB)
    if broker == "redis":
        import redis

        redis.Redis.from_url(own_redis).flushdb()
    bot = start_bot(
        ekuaibao,
        slack,
        tmp_path,
        broker=own_redis if broker == "redis" else None,
        EKUAIBAO_RATE_LIMIT="4",
        EKUAIBAO_RATE_BURST="1",
    )
    try:
        before = len(ekuaibao.calls)
        commands = [bot.command(MEAL) for _ in range(4)]
        for command in commands:
            bot.reply(command, timeout=40)
        calls = ekuaibao.calls[before:]
        assert len(calls) >= 12
        span = calls[-1].at - calls[0].at
        assert span >= (len(calls) - 1) / 4 * 0.9, f"{len(calls)} calls in {span:.2f} s"
    finally:
        bot.stop()
