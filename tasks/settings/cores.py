"""How many cores this process may really use: its CPU affinity, capped by a cgroup quota.

`os.cpu_count()` counts the machine's CPUs, not ours: a container limited to one CPU on a
16-core host (`docker run --cpus 1`, systemd `CPUQuota=100%`) would start 16 worker
processes that then throttle each other. Everything read here is read defensively: a file
that is missing, unreadable or odd means "no quota", never a failed start.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_SELF_CGROUP = Path("/proc/self/cgroup")


def quota_cores(cpu_max: str) -> int | None:
    """Cores allowed by one cgroup v2 `cpu.max` ("<quota> <period>", or "max <period>").

    Rounded up: each worker process holds one GIL, so 1.5 cores are used only by two
    processes (one would leave the half idle); the kernel throttles the pair to 1.5."""
    parts = cpu_max.split()
    if not parts or parts[0] == "max":
        return None
    try:
        quota = int(parts[0])
        period = int(parts[1]) if len(parts) > 1 else 100_000
    except ValueError:
        return None
    if quota <= 0 or period <= 0:
        return None
    return max(1, math.ceil(quota / period))


def own_cgroup(proc_self_cgroup: str) -> str | None:
    """This process's cgroup v2 path ("0::/system.slice/x.service" → that path)."""
    for line in proc_self_cgroup.splitlines():
        if line.startswith("0::"):
            return line[3:].strip() or "/"
    return None


def cgroup_quota(root: Path = CGROUP_ROOT, proc_self_cgroup: Path = PROC_SELF_CGROUP) -> int | None:
    """The tightest `cpu.max` quota from our cgroup up to the root, or None without one.

    A quota may sit on any ancestor (a slice), and in a container our cgroup is usually
    the namespace root, `/sys/fs/cgroup/cpu.max` itself."""
    try:
        path = own_cgroup(proc_self_cgroup.read_text()) or "/"
    except (OSError, ValueError):
        path = "/"
    top = root.resolve()
    folder = (top / path.lstrip("/")).resolve()
    if not folder.is_relative_to(top):
        folder = top  # a path that climbs out (`..`) is read as the root
    tightest: int | None = None
    while True:
        try:
            cores = quota_cores((folder / "cpu.max").read_text())
        except (OSError, ValueError):
            cores = None
        if cores is not None:
            tightest = cores if tightest is None else min(tightest, cores)
        if folder == top:
            return tightest
        folder = folder.parent


def usable_cores(
    affinity: Callable[[], int] | None = None, quota: Callable[[], int | None] = cgroup_quota
) -> int:
    """CPUs we may run on (affinity), at most the cgroup quota, and at least 1."""
    cores = (affinity or _affinity)()
    limit = quota()
    if limit is not None:
        cores = min(cores, limit)
    return max(1, cores)


def _affinity() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


#: Set by `invoicebot worker` for each Celery process it starts: "<n>/<total>", from 1.
WORKER_PROCESS_ENV = "INVOICEBOT_WORKER_PROCESS"


def worker_process(environ: Mapping[str, str] = os.environ) -> tuple[int, int]:
    """Which of `invoicebot worker`'s processes this is, (n, total); (1, 1) when Celery was
    started some other way (`celery -A tasks worker`) or the variable makes no sense."""
    n, _, total = environ.get(WORKER_PROCESS_ENV, "").partition("/")
    if n.isdigit() and total.isdigit() and 1 <= int(n) <= int(total):
        return int(n), int(total)
    return 1, 1
