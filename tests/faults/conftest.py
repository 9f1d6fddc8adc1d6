"""Fault-injection suite: real bot and worker processes, a private Redis, a flaky Ekuaibao.

Slow (about 90 s) and expected to expose weaknesses; select it with `-m faults`, leave it
out with `-m "not faults"`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.ekuaibao import EkuaibaoStandIn
from sandbox.slack import SlackStandIn


@pytest.fixture
def ekuaibao() -> Iterator[EkuaibaoStandIn]:
    with EkuaibaoStandIn() as standin:
        yield standin


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin
