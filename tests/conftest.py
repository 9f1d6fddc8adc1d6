"""Lanes by folder, and tests that never read the developer's own settings.

Each test's lane is the folder under tests/ it lives in, never a hand-set marker:

* `unit`: offline by construction. A unit test that opens a socket (TCP, UDP or a Unix
  one) fails; anything that needs a server, a stand-in over loopback or a supervised
  process belongs in `integration` (a short-lived child a unit test runs, a fresh
  interpreter or a lint, is not guarded: it must be as offline as its test).
  `pytest -m unit` is the quick lane.
* `integration`: the real bot and workers over loopback, on every broker.
* `faults`: fault injection against real processes (worker kill, Redis restart, flaky
  Ekuaibao); slow.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tasks.environment import is_setting

LANES = ("unit", "integration", "faults")
TESTS = Path(__file__).resolve().parent


#: `pytest -n auto` workers per core: integration tests mostly wait (for a bot to start, a
#: reply, a stand-in's latency), so several workers a core finish sooner.
WORKERS_PER_CORE = 4
MAX_WORKERS = 8


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    return max(2, min(MAX_WORKERS, WORKERS_PER_CORE * len(os.sched_getaffinity(0))))


def lane_of(path: Path) -> str:
    """The lane a test file is in: the first folder under tests/."""
    parts = path.resolve().relative_to(TESTS).parts
    if len(parts) < 2 or parts[0] not in LANES:
        raise pytest.UsageError(f"{path}: a test belongs in one of tests/{{{','.join(LANES)}}}/")
    return parts[0]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        lane = lane_of(item.path)
        item.add_marker(lane)
        if lane == "unit":  # pytest-socket: any socket, Unix ones too, raises
            item.add_marker(pytest.mark.disable_socket)


@pytest.fixture(autouse=True)
def _clean_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    for name in list(os.environ):
        if is_setting(name):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STATE_DIR", str(tmp_path_factory.mktemp("state")))
    yield


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A `pytest -n` worker hands its reply times to the controller, which prints them."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        from tests.integration.harness import REPLY_TIMES

        output["reply_times"] = {kind: list(times) for kind, times in REPLY_TIMES.items()}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    from tests.integration.harness import REPLY_TIMES

    for kind, times in getattr(node, "workeroutput", {}).get("reply_times", {}).items():
        REPLY_TIMES.setdefault(kind, []).extend(times)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How long the real bot took to answer on each broker, over every command the
    integration tests sent (faults and retries included, so the tail is long)."""
    from tests.integration.harness import REPLY_TIMES

    for kind, seconds in sorted(REPLY_TIMES.items()):
        ms = sorted(s * 1000 for s in seconds)
        terminalreporter.write_line(
            f"reply time on {kind}: p50 {ms[len(ms) // 2]:.0f} ms, "
            f"p90 {ms[int(len(ms) * 0.9)]:.0f} ms over {len(ms)} commands"
        )
