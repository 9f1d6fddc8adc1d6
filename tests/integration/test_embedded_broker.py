"""Integration tests for the embedded SQLite broker (tasks/broker/embedded.py).

Real processes and real files under tmp_path: kombu producers/consumers in threads and
subprocesses, and real Celery workers (threads and prefork pools) running
tests/integration/broker_app.py, which appends one line per task event to a log file.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from kombu import Connection, Exchange, Queue

from tasks.broker.embedded import embedded_url, register

REPO = Path(__file__).resolve().parents[2]
QUEUE = Queue("it", Exchange("it", type="direct"), routing_key="it")

register()


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def rows(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT id, queue, claimed_by, deliveries FROM messages").fetchall()


def run_py(code: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=REPO)


# --- kombu level -------------------------------------------------------------------------

PRODUCER = """
import sys, threading
from pathlib import Path
from kombu import Connection, Exchange, Queue
from tasks.broker.embedded import embedded_url, register
register()
db, prefix, threads, per = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
q = Queue("it", Exchange("it", type="direct"), routing_key="it")
def run(t):
    with Connection(embedded_url(Path(db))) as conn:
        producer = conn.Producer()
        for i in range(per):
            producer.publish({"id": f"{prefix}-{t}-{i}"}, exchange=q.exchange,
                             routing_key="it", declare=[q])
workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
for w in workers: w.start()
for w in workers: w.join()
"""

CONSUMER = """
import json, os, signal, socket, sys
from pathlib import Path
from kombu import Connection, Exchange, Queue
from tasks.broker.embedded import embedded_url, register
register()
db, out, stop, mode = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]
q = Queue("it", Exchange("it", type="direct"), routing_key="it")
with Connection(embedded_url(Path(db))) as conn, open(out, "a") as fh:
    if mode == "claim-and-die":  # take 5 messages, never ack, die like a SIGKILLed worker
        for _ in range(5):
            conn.default_channel.basic_get("it")
        os.kill(os.getpid(), signal.SIGKILL)
    def on_message(body, message):
        fh.write(json.dumps([body["id"], bool(message.delivery_info.get("redelivered"))]) + "\\n")
        fh.flush()
        message.ack()
    with conn.Consumer(q, callbacks=[on_message], prefetch_count=10):
        while True:
            try:
                conn.drain_events(timeout=0.3)
            except socket.timeout:
                if stop.exists():
                    break
"""


def read_consumed(*files: Path) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = []
    for f in files:
        if f.exists():
            out += [(m, bool(r)) for m, r in map(json.loads, f.read_text().splitlines())]
    return out


def test_url_path_and_file_mode(tmp_path: Path) -> None:
    db = tmp_path / "new dir" / "broker.sqlite3"
    url = embedded_url(db)
    assert url == f"embedded://{tmp_path}/new%20dir/broker.sqlite3"
    register()  # idempotent
    with Connection(url) as conn:
        conn.connect()
        assert conn.as_uri() == url
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    with Connection("embedded://", transport_options={"path": str(db)}) as conn:
        conn.connect()
    for bad in ("embedded://relative/path.sqlite3", "embedded://"):
        with pytest.raises(ValueError), Connection(bad) as conn:
            conn.connect()


def test_concurrent_publish_threads_and_processes_consumed_exactly_once(tmp_path: Path) -> None:
    db, stop = tmp_path / "b.sqlite3", tmp_path / "stop"
    outs = [tmp_path / "c1.jsonl", tmp_path / "c2.jsonl"]
    with Connection(embedded_url(db)) as conn:
        conn.connect()  # create the file up front
    consumers = [run_py(CONSUMER, str(db), str(o), str(stop), "consume") for o in outs]
    producers = [run_py(PRODUCER, str(db), f"p{i}", "3", "150") for i in range(2)]

    def local(t: int) -> None:
        with Connection(embedded_url(db)) as conn:
            producer = conn.Producer()
            for i in range(150):
                producer.publish(
                    {"id": f"local-{t}-{i}"},
                    exchange=QUEUE.exchange,
                    routing_key="it",
                    declare=[QUEUE],
                )

    threads = [threading.Thread(target=local, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    for p in producers:
        assert p.wait(timeout=20) == 0
    expected = {f"p{p}-{t}-{i}" for p in range(2) for t in range(3) for i in range(150)}
    expected |= {f"local-{t}-{i}" for t in range(4) for i in range(150)}
    wait_for(lambda: len(read_consumed(*outs)) >= len(expected), 20, "all messages consumed")
    stop.touch()
    for c in consumers:
        assert c.wait(timeout=10) == 0
    counts = collections.Counter(mid for mid, _ in read_consumed(*outs))
    assert set(counts) == expected  # nothing lost
    assert [m for m, n in counts.items() if n > 1] == []  # nothing delivered twice
    assert all(len(read_consumed(o)) > 0 for o in outs)  # both consumers took part
    assert rows(db) == []  # every message acked and deleted


def test_messages_survive_restart_graceful_close_and_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "b.sqlite3"
    assert run_py(PRODUCER, str(db), "m", "1", "30").wait(timeout=20) == 0  # producer exits

    # A consumer that closes without acking (graceful restart) gives its messages back ...
    with Connection(embedded_url(db)) as conn:
        channel: Any = conn.default_channel
        held = [channel.basic_get("it") for _ in range(5)]
        assert all(m is not None for m in held)
        # ... and so does one that is SIGKILLed while holding unacked messages.
        stop = tmp_path / "stop"
        killed = run_py(CONSUMER, str(db), str(tmp_path / "x"), str(stop), "claim-and-die")
        assert killed.wait(timeout=20) == -signal.SIGKILL
        assert len([r for r in rows(db) if r[2] is not None]) == 10  # 5 live + 5 dead claims
    assert len([r for r in rows(db) if r[2] is not None]) == 5  # only the dead process's

    got: list[tuple[str, bool]] = []
    with Connection(embedded_url(db)) as conn:  # "restart": fresh connection, fresh process state
        channel = conn.default_channel
        while (message := channel.basic_get("it")) is not None:
            got.append((message.payload["id"], bool(message.delivery_info.get("redelivered"))))
            message.ack()
    ids = [mid for mid, _ in got]
    assert sorted(ids) == sorted(f"m-0-{i}" for i in range(30))
    assert ids[:10] == [f"m-0-{i}" for i in range(10)]  # requeued messages kept their place
    assert [mid for mid, redelivered in got if redelivered] == ids[:10]
    assert rows(db) == []


def test_ack_after_channel_close_still_settles(tmp_path: Path) -> None:
    """A task that finishes after its channel closed (e.g. reconnect) must not run twice."""
    db = tmp_path / "b.sqlite3"
    assert run_py(PRODUCER, str(db), "m", "1", "2").wait(timeout=20) == 0
    with Connection(embedded_url(db)) as conn:
        channel: Any = conn.default_channel
        first, second = channel.basic_get("it"), channel.basic_get("it")
        channel.close()  # both restored (claims cleared) ...
        first.ack()  # ... but the first one did complete: its ack deletes it
    assert [r[3] for r in rows(db)] == [1]  # only `second` is left, ready for redelivery
    assert second.payload["id"] == "m-0-1"


# --- Celery workers ------------------------------------------------------------------------


class Worker:
    """A `celery worker` subprocess on tests/integration/broker_app.py."""

    def __init__(self, tmp_path: Path, pool: str, concurrency: int, name: str) -> None:
        self.tmp_path, self.pool, self.concurrency, self.name = tmp_path, pool, concurrency, name
        self.ready = tmp_path / f"{name}.ready"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        env = dict(
            os.environ,
            BROKER_APP_DB=str(self.tmp_path / "b.sqlite3"),
            BROKER_APP_LOG=str(self.tmp_path / "tasks.log"),
            BROKER_APP_READY=str(self.ready),
        )
        cmd = [sys.executable, "-m", "celery", "-A", "tests.integration.broker_app", "worker"]
        cmd += ["-P", self.pool, "-c", str(self.concurrency), "-n", f"{self.name}@%h"]
        with open(self.tmp_path / f"{self.name}.out", "wb") as out:
            self.proc = subprocess.Popen(
                [*cmd, "--loglevel=INFO"],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(lambda: self.ready.exists() or self.proc.poll() is not None, 15, "worker ready")  # type: ignore[union-attr]
        assert self.proc.poll() is None, (self.tmp_path / f"{self.name}.out").read_text()
        return self

    def kill(self) -> None:
        """SIGKILL the worker and its pool children (as the OOM killer/`docker kill` would)."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Warm shutdown (SIGTERM to the main process only, as Celery expects)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[[str, int], Worker]]:
    started: list[Worker] = []

    def make(pool: str, concurrency: int) -> Worker:
        worker = Worker(tmp_path, pool, concurrency, f"w{len(started)}")
        started.append(worker)
        return worker.start()

    yield make
    for worker in started:
        if worker.proc is not None and worker.proc.poll() is None:
            worker.kill()


def producer_app(tmp_path: Path) -> Celery:
    """The bot side: only knows task names, sends with send_task."""
    return Celery("bot-side", broker=embedded_url(tmp_path / "b.sqlite3"))


def events(tmp_path: Path) -> list[tuple[str, str, bool]]:
    log = tmp_path / "tasks.log"
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        kind, tag, _pid, redelivered = line.split()
        out.append((kind, tag, redelivered == "True"))
    return out


def count(tmp_path: Path, kind: str, tag: str) -> int:
    return sum(1 for k, t, _ in events(tmp_path) if (k, t) == (kind, tag))


@pytest.mark.parametrize(("pool", "concurrency"), [("threads", 4), ("prefork", 2)])
def test_worker_runs_tasks_queued_before_and_after_it_started(
    tmp_path: Path, workers: Callable[[str, int], Worker], pool: str, concurrency: int
) -> None:
    app = producer_app(tmp_path)
    for i in range(20):  # queued while no worker runs
        app.send_task("t.record", args=[f"early{i}"])
    worker = workers(pool, concurrency)
    for i in range(20):
        app.send_task("t.record", args=[f"live{i}"])
    tags = [f"early{i}" for i in range(20)] + [f"live{i}" for i in range(20)]
    wait_for(lambda: len(events(tmp_path)) >= 40, 15, "40 tasks to run")
    time.sleep(0.3)  # anything doubled would show up now
    assert sorted(t for _, t, _ in events(tmp_path)) == sorted(tags)
    wait_for(lambda: rows(tmp_path / "b.sqlite3") == [], 5, "all acks")
    worker.kill()  # prefork's warm shutdown is slow with sync transports; nothing is in flight


@pytest.mark.parametrize(("pool", "concurrency"), [("threads", 2), ("prefork", 2)])
def test_sigkilled_worker_acks_late_task_is_redelivered(
    tmp_path: Path, workers: Callable[[str, int], Worker], pool: str, concurrency: int
) -> None:
    app = producer_app(tmp_path)
    app.send_task("t.slow", args=["victim", 3.0])
    for i in range(4):
        app.send_task("t.record", args=[f"r{i}"])
        app.send_task("t.slow", args=[f"late{i}", 0.05])
    first = workers(pool, concurrency)
    others = [("run", f"r{i}") for i in range(4)] + [("done", f"late{i}") for i in range(4)]
    wait_for(
        lambda: (
            count(tmp_path, "start", "victim") == 1
            and all(count(tmp_path, k, t) == 1 for k, t in others)
        ),
        15,
        "victim running and the other tasks done",
    )
    time.sleep(0.3)  # let the acks of the finished tasks land
    first.kill()
    assert count(tmp_path, "done", "victim") == 0

    workers(pool, concurrency)
    wait_for(lambda: count(tmp_path, "done", "victim") == 1, 15, "victim to run again")
    time.sleep(0.3)
    victim = [(k, r) for k, t, r in events(tmp_path) if t == "victim"]
    assert victim == [("start", False), ("start", True), ("done", True)]
    assert all(count(tmp_path, k, t) == 1 for k, t in others)  # nothing lost or doubled
    wait_for(lambda: rows(tmp_path / "b.sqlite3") == [], 5, "all acks")


def test_warm_shutdown_finishes_running_task_and_requeues_prefetched(
    tmp_path: Path, workers: Callable[[str, int], Worker]
) -> None:
    app = producer_app(tmp_path)
    app.send_task("t.slow", args=["g", 1.0])
    for i in range(3):  # prefetched by the single-thread worker, not started before SIGTERM
        app.send_task("t.record", args=[f"r{i}"])
    worker = workers("threads", 1)
    wait_for(lambda: count(tmp_path, "start", "g") == 1, 10, "g to start")
    worker.stop()
    assert worker.proc is not None and worker.proc.returncode == 0
    assert count(tmp_path, "done", "g") == 1
    for i in range(3, 6):  # queued while no worker runs
        app.send_task("t.record", args=[f"r{i}"])

    workers("threads", 4)
    wait_for(lambda: all(count(tmp_path, "run", f"r{i}") >= 1 for i in range(6)), 10, "r0..r5")
    time.sleep(0.3)
    assert all(count(tmp_path, "run", f"r{i}") == 1 for i in range(6))
    assert count(tmp_path, "start", "g") == 1  # acked at the end of the warm shutdown
