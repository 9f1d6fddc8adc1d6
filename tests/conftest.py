"""Tests never read the developer's own settings: the environment is cleared for each test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tasks.environment import is_setting


@pytest.fixture(autouse=True)
def _clean_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    for name in list(os.environ):
        if is_setting(name):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STATE_DIR", str(tmp_path_factory.mktemp("state")))
    yield


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
