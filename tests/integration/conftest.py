from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from sandbox.ekuaibao import EkuaibaoStandIn
from sandbox.slack import SlackStandIn
from tests.integration.harness import REDIS_URL, RunningBot, redis_reachable, start_bot


def require_redis() -> None:
    """In CI a missing Redis is a failure, not a skip: the Redis path must really be tested."""
    if redis_reachable():
        return
    if os.environ.get("CI") == "true":
        pytest.fail("Redis is not reachable on 127.0.0.1:6379 and CI=true")
    pytest.skip("Redis is not reachable on 127.0.0.1:6379")


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


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


@pytest.fixture(scope="module", params=["embedded", "redis"])
def bot(
    request: pytest.FixtureRequest,
    ekuaibao: EkuaibaoStandIn,
    slack: SlackStandIn,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningBot]:
    """The real bot with a worker, once on the embedded broker and once on Redis."""
    broker = None
    if request.param == "redis":
        require_redis()
        flush_redis()
        broker = REDIS_URL
    running = start_bot(
        ekuaibao, slack, tmp_path_factory.mktemp(f"bot-{request.param}"), broker=broker
    )
    yield running
    running.stop()
