"""Usable cores: affinity capped by a cgroup v2 quota, read from fake files; and how many
Celery processes, of what size, `invoicebot worker` makes of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

import tasks.settings as settings_module
from tasks.settings import Settings
from tasks.settings.cores import (
    WORKER_PROCESS_ENV,
    cgroup_quota,
    own_cgroup,
    quota_cores,
    usable_cores,
    worker_process,
)


@pytest.mark.parametrize(
    ("cpu_max", "cores"),
    [
        ("max 100000\n", None),  # no quota
        ("200000 100000\n", 2),
        ("100000 100000", 1),
        ("150000 100000", 2),  # 1.5 cores: two GILs use them, one would not
        ("50000 100000", 1),  # half a core: still one process
        ("400000 50000", 8),
        ("300000", 3),  # no period: the kernel's default, 100 ms
        ("", None),
        ("lots 100000", None),
        ("0 100000", None),
        ("100000 0", None),
        ("-1 100000", None),
    ],
)
def test_a_quota_is_read_as_whole_cores_rounded_up(cpu_max: str, cores: int | None) -> None:
    assert quota_cores(cpu_max) == cores


def test_our_cgroup_is_the_unified_hierarchy_line() -> None:
    assert own_cgroup("0::/system.slice/invoicebot-worker.service\n") == (
        "/system.slice/invoicebot-worker.service"
    )
    hybrid = "12:cpu,cpuacct:/user.slice\n1:name=systemd:/user.slice\n0::/user.slice/x.scope\n"
    assert own_cgroup(hybrid) == "/user.slice/x.scope"
    assert own_cgroup("4:memory:/docker/abc\n1:cpu:/docker/abc\n") is None  # cgroup v1 only
    assert own_cgroup("0::\n") == "/"


def fake_cgroups(tmp_path: Path, quotas: dict[str, str], ours: str) -> tuple[Path, Path]:
    """A /sys/fs/cgroup with `cpu.max` files where `quotas` says, and /proc/self/cgroup."""
    root = tmp_path / "cgroup"
    (root / ours.lstrip("/")).mkdir(parents=True)
    for folder, cpu_max in quotas.items():
        (root / folder.lstrip("/") / "cpu.max").write_text(cpu_max)
    proc = tmp_path / "proc-self-cgroup"
    proc.write_text(f"0::{ours}\n")
    return root, proc


def test_the_tightest_quota_from_our_cgroup_up_counts(tmp_path: Path) -> None:
    root, proc = fake_cgroups(
        tmp_path,
        {
            "/": "max 100000",
            "/system.slice": "300000 100000",
            "/system.slice/invoicebot-worker.service": "max 100000",
        },
        "/system.slice/invoicebot-worker.service",
    )
    assert cgroup_quota(root, proc) == 3  # the slice's, though the service has none


def test_a_container_sees_its_own_quota_at_the_root(tmp_path: Path) -> None:
    root, proc = fake_cgroups(tmp_path, {"/": "100000 100000"}, "/")
    assert cgroup_quota(root, proc) == 1


def test_missing_or_odd_files_mean_no_quota(tmp_path: Path) -> None:
    root, proc = fake_cgroups(tmp_path, {}, "/a/b")
    assert cgroup_quota(root, proc) is None  # no cpu.max anywhere (cgroup v1, or no cpu)
    assert cgroup_quota(tmp_path / "nowhere", tmp_path / "no-proc") is None
    (root / "a" / "cpu.max").write_text("\x00garbage")
    assert cgroup_quota(root, proc) is None
    (root / "a" / "b" / "cpu.max").mkdir()  # unreadable as a file
    assert cgroup_quota(root, proc) is None
    (root / "cpu.max").write_text("200000 100000")
    proc.write_text("0::/../../elsewhere\n")  # a path that climbs out is read as the root
    assert cgroup_quota(root, proc) == 2
    proc.write_bytes(b"0::/\xff\xfe\n")  # not text
    assert cgroup_quota(root, proc) == 2


def test_usable_cores_are_the_affinity_capped_by_the_quota() -> None:
    assert usable_cores(affinity=lambda: 8, quota=lambda: None) == 8
    assert usable_cores(affinity=lambda: 8, quota=lambda: 2) == 2
    assert usable_cores(affinity=lambda: 2, quota=lambda: 6) == 2  # pinned to two CPUs
    assert usable_cores(affinity=lambda: 0, quota=lambda: None) == 1
    assert usable_cores() >= 1  # this machine, whatever it has


def test_which_process_this_is_comes_from_the_variable() -> None:
    assert worker_process({WORKER_PROCESS_ENV: "2/4"}) == (2, 4)
    assert worker_process({}) == (1, 1)  # `celery -A tasks worker` started by hand
    for odd in ("0/2", "3/2", "x/2", "2", "", "-1/3"):
        assert worker_process({WORKER_PROCESS_ENV: odd}) == (1, 1), odd


@pytest.fixture
def cores(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The usable cores Settings sees: a list to set, so no test depends on this host."""
    count = [4]
    monkeypatch.setattr(settings_module, "usable_cores", lambda: count[0])
    return count


@pytest.mark.parametrize(
    ("env", "processes", "concurrency"),
    [
        ({}, 4, 64),  # embedded broker: threads, one process per core
        ({"CELERY_BROKER_URL": "redis://127.0.0.1:6379/3"}, 4, 64),  # gevent
        ({"WORKER_PROCESSES": "2"}, 2, 64),
        ({"WORKER_CONCURRENCY": "16"}, 4, 16),  # per process
        ({"WORKER_POOL": "prefork"}, 1, 4),  # prefork spreads over the cores itself
        ({"WORKER_POOL": "prefork", "WORKER_CONCURRENCY": "3"}, 1, 3),
        ({"WORKER_POOL": "prefork", "WORKER_PROCESSES": "2"}, 2, 4),  # asked for: honoured
    ],
)
def test_processes_and_concurrency_per_process(
    monkeypatch: pytest.MonkeyPatch,
    cores: list[int],
    env: dict[str, str],
    processes: int,
    concurrency: int,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert (settings.processes, settings.concurrency) == (processes, concurrency)


def test_one_core_is_one_process_as_before(cores: list[int]) -> None:
    cores[0] = 1
    assert (Settings().processes, Settings().concurrency) == (1, 64)


@pytest.mark.parametrize("value", ["0", "65", "many"])
def test_worker_processes_must_be_sane(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("WORKER_PROCESSES", value)
    with pytest.raises(ValidationError):
        Settings()
