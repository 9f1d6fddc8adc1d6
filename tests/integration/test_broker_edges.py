"""What happens when the broker is down, and that queued lookups survive a restart."""

from __future__ import annotations

import pytest

from sandbox.ekuaibao import EkuaibaoStandIn
from sandbox.slack import SlackStandIn
from tests import services
from tests.integration.conftest import require_redis
from tests.integration.harness import bot_env, start_bot, start_worker
from tests.integration.tcp_proxy import TcpProxy

MEAL = "0aM9AbvdhI0400:011001900111:07517347"


def test_broker_down_tells_the_user_at_once(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path
) -> None:
    """The broker answered at start-up (serve refuses to start without one) and then went
    away. Its own database, 11: only a PING and failed publishes reach it."""
    require_redis()
    proxy = TcpProxy(services.REDIS_PORT)
    bot = start_bot(ekuaibao, slack, tmp_path, broker=proxy.url("redis://", "/11"), worker=False)
    try:
        proxy.close()  # refuses new connections and resets the open ones
        command = bot.command(MEAL)
        assert command.ack.status_code == 200
        assert command.ack_ms < 3000
        assert "can't queue your lookup right now" in command.ack.json()["text"]
        assert "could not queue lookup" in bot.log()
    finally:
        bot.stop()


@pytest.mark.parametrize("how", ["invoicebot worker", "celery -A tasks worker"])
def test_lookups_queued_while_no_worker_runs_are_answered_later(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path, how: str
) -> None:
    """The embedded broker keeps tasks on disk: the bot restarts, then a worker appears."""
    bot = start_bot(ekuaibao, slack, tmp_path, broker=None, worker=False)
    try:
        command = bot.command(MEAL)
        assert command.ack.json()["text"] == ":mag: Looking up 1 invoice…"
    finally:
        bot.stop()
    assert slack.posts_for(command.response_url) == []
    env = bot_env(ekuaibao, slack, tmp_path / "state", None, bot.secret)
    worker = start_worker(env, tmp_path / "worker.log", how)
    try:
        [post] = slack.wait_for_posts(command.response_url, 1, timeout=30)
        assert "¥452.00" in str(post.body["blocks"])
    finally:
        worker.terminate()
        worker.wait(timeout=20)
