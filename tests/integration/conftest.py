from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

import pytest

from sandbox.ekuaibao import EkuaibaoStandIn
from sandbox.slack import SlackStandIn
from tests.integration.harness import (
    RABBITMQ_URL,
    REDIS_URL,
    RunningBot,
    rabbitmq_reachable,
    redis_reachable,
    start_bot,
)


def _require(name: str, where: str, up: bool) -> None:
    """In CI a missing broker is a failure, not a skip: every broker must really be tested."""
    if up:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{name} is not reachable on {where} and CI=true")
    pytest.skip(f"{name} is not reachable on {where}")


def require_redis() -> None:
    _require("Redis", "127.0.0.1:6379", redis_reachable())


def require_rabbitmq() -> None:
    _require("RabbitMQ", "127.0.0.1:5672", rabbitmq_reachable())


def flush_redis(url: str = REDIS_URL) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def purge_rabbitmq(url: str = RABBITMQ_URL) -> None:
    """Lookups an earlier module left queued must not be answered by this module's worker."""
    from kombu import Connection

    from tasks.celery_app import BULK_QUEUE, QUEUE

    connection = Connection(url, connect_timeout=5)
    with connection, contextlib.suppress(*connection.channel_errors):  # no such queue yet
        for queue in (QUEUE, BULK_QUEUE):
            connection.default_channel.queue_purge(queue)


def broker_for(kind: str) -> str | None:
    """A clean broker of that kind (None: the embedded default), or a skip/fail."""
    if kind == "redis":
        require_redis()
        flush_redis()
        return REDIS_URL
    if kind == "rabbitmq":
        require_rabbitmq()
        purge_rabbitmq()
        return RABBITMQ_URL
    return None


class OffsetClock:
    """Real time plus an offset, so a test can jump hours ahead on Ekuaibao's side."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture(scope="module")
def ekuaibao_clock() -> OffsetClock:
    return OffsetClock()


@pytest.fixture(scope="module")
def ekuaibao(ekuaibao_clock: OffsetClock) -> Iterator[EkuaibaoStandIn]:
    with EkuaibaoStandIn(clock=ekuaibao_clock) as standin:
        yield standin


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


@pytest.fixture(autouse=True)
def _healthy_ekuaibao(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "ekuaibao" in request.fixturenames:
        request.getfixturevalue("ekuaibao").reset_faults()
        request.getfixturevalue("ekuaibao_clock").offset = 0.0


BROKERS = ["embedded", "redis", "rabbitmq"]


@pytest.fixture(scope="module", params=BROKERS)
def bot(
    request: pytest.FixtureRequest,
    ekuaibao: EkuaibaoStandIn,
    slack: SlackStandIn,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningBot]:
    """The real bot with a worker, on each broker the README names."""
    running = start_bot(
        ekuaibao,
        slack,
        tmp_path_factory.mktemp(f"bot-{request.param}"),
        broker=broker_for(request.param),
    )
    yield running
    running.stop()
