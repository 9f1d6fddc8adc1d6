"""`invoicebot worker`'s Celery processes: the command and environment each gets, and the
start-up line (stopping real children: tests/integration/test_supervise.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import tasks.settings as settings_module
from bot.worker import celery_argv, child_env, startup_line
from tasks.runtime import resident_mb
from tasks.settings import Settings
from tasks.settings.cores import WORKER_PROCESS_ENV

QUEUES = "invoicebot,invoicebot.bulk"


@pytest.fixture
def two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings_module, "usable_cores", lambda: 2)


def test_each_process_gets_the_same_command_but_its_own_hostname(
    monkeypatch: pytest.MonkeyPatch, two_cores: None
) -> None:
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://:pw@127.0.0.1:6379/3")
    settings = Settings()
    first, second = (celery_argv(settings, QUEUES, n, python="py") for n in (1, 2))
    pid = os.getpid()
    assert first == [
        *("py", "-m", "celery", "-A", "tasks", "worker"),
        *("--pool", "gevent", "--concurrency", "64", "--queues", QUEUES),
        *("--hostname", f"invoicebot-{pid}-1@%h", "--loglevel", "INFO"),
        *("--without-gossip", "--without-mingle"),
    ]
    differ = [(a, b) for a, b in zip(first, second, strict=True) if a != b]
    assert differ == [(f"invoicebot-{pid}-1@%h", f"invoicebot-{pid}-2@%h")]
    assert "pw" not in " ".join(first)  # the broker URL is read from the environment


def test_prefork_runs_one_pool_process_per_core(
    monkeypatch: pytest.MonkeyPatch, two_cores: None
) -> None:
    monkeypatch.setenv("WORKER_POOL", "prefork")
    argv = celery_argv(Settings(), QUEUES, 1)
    assert argv[argv.index("--pool") + 1 :][:3] == ["prefork", "--concurrency", "2"]


def test_each_child_is_told_which_process_it_is() -> None:
    env = child_env(2, 3, {"PATH": "/bin", WORKER_PROCESS_ENV: "9/9"})
    assert env == {"PATH": "/bin", WORKER_PROCESS_ENV: "2/3"}


def test_the_start_up_line_says_what_runs_per_process(
    monkeypatch: pytest.MonkeyPatch, two_cores: None
) -> None:
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://:s3cret@redis.internal:6379/0")
    assert startup_line(Settings(), QUEUES) == (
        "worker: 2 processes × 64 green threads (gevent) per process, "
        f"queues {QUEUES}, broker redis://redis.internal:6379/0"
    )
    monkeypatch.setenv("WORKER_PROCESSES", "1")
    monkeypatch.setenv("WORKER_CONCURRENCY", "1")
    monkeypatch.setenv("CELERY_BROKER_URL", "embedded:///var/lib/invoicebot/broker.sqlite3")
    assert startup_line(Settings(), QUEUES) == (
        "worker: 1 process × 1 thread (threads) per process, "
        f"queues {QUEUES}, broker embedded (/var/lib/invoicebot/broker.sqlite3)"
    )


def test_resident_memory_is_read_from_proc_status(tmp_path: Path) -> None:
    (tmp_path / "42").mkdir()
    (tmp_path / "42" / "status").write_text("Name:\tcelery\nVmPeak:\t 999 kB\nVmRSS:\t  81920 kB\n")
    assert resident_mb(42, proc=tmp_path) == 80.0
    assert resident_mb(43, proc=tmp_path) is None  # gone
    (tmp_path / "42" / "status").write_text("Name:\tzombie\n")
    assert resident_mb(42, proc=tmp_path) is None
    own = resident_mb()
    assert own is None or own > 1  # this process, on Linux
