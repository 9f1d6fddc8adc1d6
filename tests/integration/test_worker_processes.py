"""`invoicebot worker` with WORKER_PROCESSES=2 on the embedded broker: two Celery
processes, both consuming at once, each saying its memory, both gone after one SIGTERM.

Each process runs one lookup at a time (WORKER_CONCURRENCY=1) and Ekuaibao is slowed
down, so two lookups held at the same moment must be held by two processes: the broker's
own claims (`claimed_by` = host:pid:token) say which.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import time
from pathlib import Path

from sandbox.ekuaibao import EkuaibaoStandIn
from sandbox.slack import SlackStandIn
from tests.integration.harness import bot_env, start_bot, start_worker
from tests.integration.test_lifecycle import MEAL, SLOW_OK, answers, wait_for_log


def celery_children(parent: int) -> set[int]:
    """Live processes whose parent is `parent` and that run Celery."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
            if re.search(rf"^PPid:\s+{parent}$", status, re.M) and b"celery" in cmdline:
                found.add(int(entry.name))
    return found


def claiming_pids(broker: Path) -> set[int]:
    """The pids of the processes holding a claimed message, per the broker's own rows."""
    db = sqlite3.connect(broker, timeout=10)
    try:
        rows = db.execute("SELECT claimed_by FROM messages WHERE claimed_by IS NOT NULL")
        return {int(owner.split(":")[1]) for (owner,) in rows}
    finally:
        db.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()


def test_two_processes_consume_side_by_side_and_stop_together(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    bot = start_bot(ekuaibao, slack, tmp_path, broker=None, worker=False, **SLOW_OK)
    env = bot_env(
        ekuaibao,
        slack,
        tmp_path / "state",
        None,
        bot.secret,
        **{**SLOW_OK, "WORKER_PROCESSES": "2", "WORKER_CONCURRENCY": "1"},
    )
    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    try:
        wait_for_log(log, "ready.", 60, count=2)
        text = log.read_text(errors="replace")
        assert "worker: 2 processes × 1 thread (threads) per process" in text, text
        memory = re.findall(r"worker process ([12])/2 \(pid (\d+)\) ready: (\d+) MB resident", text)
        assert sorted(n for n, _, _ in memory) == ["1", "2"], text
        assert all(20 < int(mb) < 1000 for _, _, mb in memory), memory
        children = celery_children(worker.pid)
        assert children == {int(pid) for _, pid, _ in memory}, (children, memory)
        assert text.count("ACCESS_MODE=open: anyone in the workspace") == 1, text

        ekuaibao.delay_s = 1.5  # a lookup: token, then three calls at once: ~3 s
        first, second = bot.command(MEAL), bot.command(MEAL)
        assert first.ack.status_code == second.ack.status_code == 200
        broker = tmp_path / "state" / "broker.sqlite3"
        deadline = time.monotonic() + 20
        holders: set[int] = set()
        while len(holders) < 2 and time.monotonic() < deadline:
            holders = claiming_pids(broker)
            time.sleep(0.05)
        assert holders == children, (holders, children)  # one lookup in each, at once
        for command in (first, second):
            slack.wait_for_posts(command.response_url, 1, timeout=30)
        assert answers(slack, first.response_url) == answers(slack, second.response_url) == 1

        began = time.monotonic()
        worker.send_signal(signal.SIGTERM)  # the main process only, as KillMode=mixed does
        assert worker.wait(timeout=60) == 0
        assert time.monotonic() - began < 15
        assert not any(alive(pid) for pid in children), children
        assert "Traceback" not in log.read_text(errors="replace")
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        bot.stop()
