from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

import pytest

from sandbox.ekuaibao import EkuaibaoStandIn
from sandbox.slack import SlackStandIn
from tests import services
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
    _require("Redis", f"127.0.0.1:{services.REDIS_PORT}", redis_reachable())


def require_rabbitmq() -> None:
    where = f"127.0.0.1:{services.RABBITMQ_PORT} (vhost {services.VHOST})"
    _require("RabbitMQ", where, rabbitmq_reachable())


def flush_redis(url: str = REDIS_URL) -> None:
    import redis

    require_redis()  # this process's Redis starts on first use

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


#: For what delivery decides (retries, redelivery, 429s, double clicks and retried events,
#: whose memory is Redis with a Redis broker, concurrency, the shared budget): the test
#: runs on each broker. Everything else runs once, on the default.
on_each_broker = pytest.mark.parametrize("bot", BROKERS, indirect=True)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test of the shared `bot` names its broker, so the module's tests on the
    default and those `on_each_broker` share one bot per broker."""
    marked = any("bot" in m.args[0] for m in metafunc.definition.iter_markers("parametrize"))
    if "bot" in metafunc.fixturenames and not marked and not hasattr(metafunc.module, "bot"):
        metafunc.parametrize("bot", ["embedded"], indirect=True)


@pytest.fixture(scope="module")
def bot(
    request: pytest.FixtureRequest,
    ekuaibao: EkuaibaoStandIn,
    slack: SlackStandIn,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningBot]:
    """The real bot with a worker: on the default (embedded) broker, or on each broker the
    README names for a test marked `on_each_broker`."""
    kind = getattr(request, "param", "embedded")
    running = start_bot(
        ekuaibao, slack, tmp_path_factory.mktemp(f"bot-{kind}"), broker=broker_for(kind)
    )
    yield running
    running.stop()
