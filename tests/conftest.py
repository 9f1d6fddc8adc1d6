"""Tests never read the developer's own settings: the environment is cleared for each test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

_PREFIXES = (
    "SLACK_",
    "EKUAIBAO_",
    "CELERY_",
    "STATE_DIR",
    "LOG_LEVEL",
    "WORKER_",
    "XDG_STATE_HOME",
)


@pytest.fixture(autouse=True)
def _clean_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STATE_DIR", str(tmp_path_factory.mktemp("state")))
    yield
