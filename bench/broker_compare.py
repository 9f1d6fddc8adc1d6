"""Compare Celery brokers: ``embedded://`` vs kombu ``filesystem://``, ``sqla+sqlite://``, Redis.

Run (any venv with celery; SQLAlchemy enables the sqla column, Redis at 127.0.0.1:6379
enables the redis column)::

    python bench/broker_compare.py [--n 500] [--only embedded,filesystem,sqla,redis]

Per broker, each phase on a fresh queue/directory, with real ``celery worker``
subprocesses (``-P threads -c 4``) running this module as the Celery app:

1. publish latency: ``send_task`` wall time, N sends with no worker running;
2. throughput: a worker drains that backlog of N (first to last task start);
3. end-to-end latency: send -> task body starts, idle worker, jittered sends;
   plus the idle worker's CPU use (the cost of polling);
4. concurrent publish: 2 processes x 4 threads publish while 2 workers consume;
   lost = published without error but never run, dup = ran more than once;
5. restart: tasks published by a process that has exited, run by a worker started later;
6. SIGKILL: acks_late tasks; the worker is SIGKILLed while running them, a new worker
   starts; how many eventually complete within the window.

Every virtual transport is polled every ``--polling-interval`` s (default 0.02, our
default; kombu's default is 1 s).  Results are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from celery import Celery  # noqa: E402
from celery.signals import worker_ready  # noqa: E402

from tasks.broker.embedded import embedded_url, register  # noqa: E402

register()

REDIS_URL = "redis://127.0.0.1:6379/15"
ALL_BROKERS = ("embedded", "filesystem", "sqla", "redis")


# --- the Celery app (used by the bench process and by worker subprocesses) -------------------


def make_app(cfg: dict[str, Any]) -> Celery:
    if cfg["name"] == "sqla":
        # kombu's sqla transport passes every transport option to create_engine(), which
        # rejects polling_interval; set the class default instead.
        from kombu.transport.sqlalchemy import Transport as SqlaTransport

        SqlaTransport.polling_interval = cfg["polling_interval"]
    options = dict(cfg["options"])
    app = Celery("bench", broker=cfg["url"])
    app.conf.update(
        broker_transport_options=options,
        broker_connection_retry_on_startup=True,
        task_default_queue=cfg["queue"],
        task_default_exchange=cfg["queue"],
        task_default_routing_key=cfg["queue"],
        task_ignore_result=True,
        worker_enable_remote_control=False,
        worker_hijack_root_logger=False,
    )

    def _record(*fields: object) -> None:
        line = " ".join(str(f) for f in fields) + "\n"
        fd = os.open(os.environ["BENCH_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    @app.task(name="bench.noop", bind=True)
    def noop(self: Any, tag: str) -> None:
        _record(
            "run",
            tag,
            repr(time.time()),
            bool((self.request.delivery_info or {}).get("redelivered")),
        )

    @app.task(name="bench.slow", bind=True, acks_late=True)
    def slow(self: Any, tag: str, seconds: float) -> None:
        redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
        _record("start", tag, repr(time.time()), redelivered)
        time.sleep(seconds)
        _record("done", tag, repr(time.time()), redelivered)

    return app


if os.environ.get("BENCH_CONFIG"):  # imported by `celery -A bench.broker_compare worker`
    app = make_app(json.loads(os.environ["BENCH_CONFIG"]))

    @worker_ready.connect
    def _ready(**_: Any) -> None:
        Path(os.environ["BENCH_READY"]).write_text(str(os.getpid()))


# --- helpers ----------------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def wait_for(pred: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@dataclass
class Phase:
    """One fresh queue (and directory) of one broker."""

    broker: str
    root: Path
    polling_interval: float
    cfg: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        queue = f"bench-{uuid.uuid4().hex[:10]}"
        pi = self.polling_interval
        options: dict[str, Any]
        if self.broker == "embedded":
            url, options = embedded_url(self.root / "broker.sqlite3"), {"polling_interval": pi}
        elif self.broker == "filesystem":
            data = self.root / "data"
            (data / "control").mkdir(parents=True, exist_ok=True)
            url = "filesystem://"
            options = {
                "data_folder_in": str(data),
                "data_folder_out": str(data),
                "control_folder": str(data / "control"),
                "polling_interval": pi,
            }
        elif self.broker == "sqla":
            url, options = f"sqla+sqlite:///{self.root / 'broker.db'}", {}
        else:
            url, options = REDIS_URL, {}
        self.cfg = {
            "name": self.broker,
            "url": url,
            "options": options,
            "queue": queue,
            "polling_interval": pi,
        }
        self.log = self.root / "tasks.log"
        self._app: Celery | None = None
        self.workers: list[subprocess.Popen[bytes]] = []

    @property
    def app(self) -> Celery:
        if self._app is None:
            self._app = make_app(self.cfg)
        return self._app

    def env(self) -> dict[str, str]:
        tmp = self.root / "tmp"  # filesystem:// moves consumed files to $TMPDIR
        tmp.mkdir(exist_ok=True)
        return dict(
            os.environ,
            BENCH_CONFIG=json.dumps(self.cfg),
            BENCH_LOG=str(self.log),
            TMPDIR=str(tmp),
            PYTHONPATH=str(REPO),
        )

    def start_worker(self, concurrency: int = 4) -> subprocess.Popen[bytes]:
        name = f"w{len(self.workers)}"
        ready = self.root / f"{name}.ready"
        env = self.env() | {"BENCH_READY": str(ready)}
        cmd = [sys.executable, "-m", "celery", "-A", "bench.broker_compare", "worker"]
        cmd += ["-P", "threads", "-c", str(concurrency), "-n", f"{name}-{uuid.uuid4().hex[:6]}@%h"]
        cmd += ["--without-mingle", "--without-gossip", "--without-heartbeat", "-l", "WARNING"]
        with open(self.root / f"{name}.out", "wb") as out:
            proc = subprocess.Popen(
                cmd,
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.workers.append(proc)
        if not wait_for(lambda: ready.exists() or proc.poll() is not None, 30):
            raise RuntimeError(f"{self.broker}: worker did not start")
        if proc.poll() is not None:
            raise RuntimeError(
                f"{self.broker}: worker died: {(self.root / f'{name}.out').read_text()}"
            )
        return proc

    def stop_workers(self, *, sig: int = signal.SIGTERM) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                if sig == signal.SIGKILL:
                    os.killpg(proc.pid, signal.SIGKILL)
                else:
                    proc.send_signal(sig)
        for proc in self.workers:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        self.workers = []

    def events(self) -> list[tuple[str, str, float, bool]]:
        if not self.log.exists():
            return []
        out = []
        for line in self.log.read_text().splitlines():
            kind, tag, ts, redelivered = line.split()
            out.append((kind, tag, float(ts), redelivered == "True"))
        return out

    def stored(self) -> int:
        """Messages/rows the broker still stores for this queue."""
        queue = self.cfg["queue"]
        if self.broker == "embedded":
            import sqlite3

            with sqlite3.connect(self.root / "broker.sqlite3") as db:
                return int(db.execute("SELECT count(*) FROM messages").fetchone()[0])
        if self.broker == "sqla":
            import sqlite3

            with sqlite3.connect(self.root / "broker.db") as db:
                return int(db.execute("SELECT count(*) FROM kombu_message").fetchone()[0])
        if self.broker == "filesystem":
            return sum(1 for f in (self.root / "data").iterdir() if f.name.endswith(".msg"))
        import redis

        r = redis.Redis.from_url(REDIS_URL)
        return int(r.llen(queue)) + sum(
            1 for _, v in r.hscan_iter("unacked") if queue.encode() in v
        )

    def close(self) -> None:
        self.stop_workers(sig=signal.SIGKILL)
        if self._app is not None:
            self._app.close()
        if self.broker == "redis":
            _redis_cleanup(self.cfg["queue"])


def _redis_cleanup(queue: str) -> None:
    """Remove this run's keys from the scratch db (queue, bindings, unacked copies)."""
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    for key in r.scan_iter(match=f"*{queue}*"):
        r.delete(key)
    for key in r.scan_iter(match="_kombu.binding*"):
        key_type = r.type(key)
        if key_type == b"set":
            for member in r.smembers(key):
                if queue.encode() in member:
                    r.srem(key, member)
        elif key_type == b"zset":
            zmembers: list[bytes] = r.zrange(key, 0, -1)  # type: ignore[assignment]
            for zmember in zmembers:
                if queue.encode() in zmember:
                    r.zrem(key, zmember)
    for key in ("unacked", "unacked_index"):
        if r.type(key) == b"hash":
            for fld, val in r.hscan_iter(key):
                if queue.encode() in val:
                    r.hdel(key, fld)
                    r.zrem("unacked_index", fld)


def redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def sqla_available() -> bool:
    try:
        import sqlalchemy  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
    except ImportError:
        return False
    return True


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- phases -----------------------------------------------------------------------------------


def bench_latency_throughput(
    broker: str, root: Path, n: int, samples: int, pi: float
) -> dict[str, Any]:
    ph = Phase(broker, root / "latency", pi)
    try:
        app = ph.app
        for i in range(20):  # warm up connections/declarations
            app.send_task("bench.noop", args=[f"w{i}"])
        pub: list[float] = []
        for i in range(n):
            t0 = time.perf_counter()
            app.send_task("bench.noop", args=[f"b{i}"])
            pub.append(time.perf_counter() - t0)
        total = n + 20
        worker = ph.start_worker()
        drained = wait_for(lambda: len(ph.events()) >= total, 180)
        starts = sorted(ts for _, _, ts, _ in ph.events())
        throughput = (len(starts) - 1) / (starts[-1] - starts[0]) if len(starts) > 1 else 0.0

        sent: dict[str, float] = {}
        for i in range(samples):
            time.sleep(random.uniform(0.01, 0.04))  # jitter: sample every phase of the poll
            tag = f"e{i}"
            sent[tag] = time.time()
            app.send_task("bench.noop", args=[tag])
        wait_for(lambda: len(ph.events()) >= total + samples, 60)
        e2e = [ts - sent[tag] for _, tag, ts, _ in ph.events() if tag in sent]

        idle_cpu: float | str = "worker crashed"
        if worker.poll() is None:
            time.sleep(1.0)
            c0, t0 = cpu_seconds(worker.pid), time.monotonic()
            time.sleep(5.0)
            if worker.poll() is None:
                idle_cpu = (cpu_seconds(worker.pid) - c0) / (time.monotonic() - t0) * 100
        crashed = worker.poll() is not None
        ph.stop_workers()
        return {
            "stored_after_drain": ph.stored(),
            "phase_total": total + samples,
            "publish_p50_ms": pct(pub, 50) * 1e3,
            "publish_p99_ms": pct(pub, 99) * 1e3,
            "e2e_p50_ms": pct(e2e, 50) * 1e3,
            "e2e_p99_ms": pct(e2e, 99) * 1e3,
            "e2e_samples": len(e2e),
            "throughput": throughput,
            "drained": f"{len(starts)}/{total}" + ("" if drained else " (timeout)"),
            "idle_cpu_pct": idle_cpu,
            "lat_worker_crashed": crashed,
        }
    finally:
        ph.close()


def bench_concurrent(broker: str, root: Path, per_thread: int, pi: float) -> dict[str, Any]:
    ph = Phase(broker, root / "concurrent", pi)
    try:
        ph.start_worker()
        ph.start_worker()
        procs = []
        for p in range(2):
            cmd = [
                sys.executable,
                str(Path(__file__).resolve()),
                "_publish",
                json.dumps({"prefix": f"p{p}", "threads": 4, "per_thread": per_thread}),
            ]
            procs.append(subprocess.Popen(cmd, cwd=REPO, env=ph.env(), stdout=subprocess.PIPE))
        published: set[str] = set()
        errors: list[str] = []
        for proc in procs:
            out, _ = proc.communicate(timeout=300)
            result = json.loads(out.decode().strip().splitlines()[-1])
            published |= set(result["ok"])
            errors += result["errors"]
        expected = 2 * 4 * per_thread

        def settled() -> bool:
            alive = any(w.poll() is None for w in ph.workers)
            return not alive or published <= {tag for _, tag, _, _ in ph.events()}

        wait_for(settled, 60)
        time.sleep(2.0)  # let stragglers/duplicates show up
        crashed = sum(1 for w in ph.workers if w.poll() is not None)
        if crashed:
            # Run what is still stored with a fresh worker: "lost" must mean destroyed,
            # not merely stranded by the crash.
            ph.stop_workers(sig=signal.SIGKILL)
            ph.start_worker()
            wait_for(lambda: published <= {t for _, t, _, _ in ph.events()}, 30)
            time.sleep(2.0)
        counts = Counter(tag for _, tag, _, _ in ph.events())
        return {
            "published": f"{len(published)}/{expected}",
            "publish_errors": len(errors),
            "first_error": errors[0] if errors else "",
            "lost": len(published - set(counts)),
            "dup": sum(c - 1 for c in counts.values() if c > 1),
            "workers_crashed": crashed,
        }
    finally:
        ph.close()


def publish_main(args: dict[str, Any]) -> None:
    """Subprocess: publish from several threads, print which tags were accepted."""
    cfg = json.loads(os.environ["BENCH_CONFIG"])
    app = make_app(cfg)
    ok: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()

    def run(t: int) -> None:
        for i in range(args["per_thread"]):
            tag = f"{args['prefix']}-{t}-{i}"
            try:
                app.send_task("bench.noop", args=[tag])
            except Exception as exc:
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
            else:
                with lock:
                    ok.append(tag)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(args["threads"])]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    app.close()
    print(json.dumps({"ok": ok, "errors": errors}))


def race_main(role: str, args: dict[str, Any]) -> None:
    """Subprocess of the kombu-level race probe: a writer (threads) or a tight-loop reader."""
    from kombu import Connection, Exchange, Queue

    cfg = json.loads(os.environ["BENCH_CONFIG"])
    if cfg["name"] == "sqla":
        make_app(cfg)  # applies the polling-interval workaround
    queue = Queue(cfg["queue"], Exchange(cfg["queue"]), cfg["queue"])
    ok: list[str] = []
    errors: Counter[str] = Counter()
    lock = threading.Lock()

    def connect() -> Any:
        return Connection(cfg["url"], transport_options=cfg["options"])

    if role == "write":

        def run(t: int) -> None:
            with connect() as conn:
                producer = conn.Producer()
                for i in range(args["per_thread"]):
                    tag = f"{args['prefix']}-{t}-{i}"
                    try:
                        producer.publish(
                            {"id": tag},
                            exchange=queue.exchange,
                            routing_key=queue.routing_key,
                            declare=[queue],
                        )
                    except Exception as exc:
                        with lock:
                            errors[type(exc).__name__] += 1
                    else:
                        with lock:
                            ok.append(tag)

        threads = [threading.Thread(target=run, args=(t,)) for t in range(args["threads"])]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    else:
        stop = Path(args["stop"])
        with connect() as conn:
            channel = conn.default_channel
            channel.queue_declare(queue.name)
            idle_since = None
            while True:
                try:
                    message = channel.basic_get(queue.name)
                except Exception as exc:  # e.g. a half-written message file
                    errors[type(exc).__name__] += 1
                    continue
                if message is None:
                    if stop.exists():
                        idle_since = idle_since or time.monotonic()
                        if time.monotonic() - idle_since > 1.0:
                            break
                    continue  # tight loop on purpose: maximal overlap with the writers
                idle_since = None
                ok.append(message.payload["id"])
                message.ack()
    print(json.dumps({"ok": ok, "errors": dict(errors)}))


def bench_race(broker: str, root: Path, per_thread: int, pi: float) -> dict[str, Any]:
    """kombu-level probe: 2 writer processes x 2 threads vs 2 readers polling without pause."""
    ph = Phase(broker, root / "race", pi)
    try:
        me = str(Path(__file__).resolve())
        stop = ph.root / "stop"
        # Create the store first: measured here is the steady state, not first start-up
        # (two processes creating a fresh sqla database at once crash; see the docs).
        from kombu import Connection

        with Connection(ph.cfg["url"], transport_options=ph.cfg["options"]) as conn:
            channel: Any = conn.default_channel
            channel.queue_declare(ph.cfg["queue"])
        readers = [
            subprocess.Popen(
                [sys.executable, me, "_race", "read", json.dumps({"stop": str(stop)})],
                cwd=REPO,
                env=ph.env(),
                stdout=subprocess.PIPE,
            )
            for _ in range(2)
        ]
        time.sleep(1.0)
        writers = [
            subprocess.Popen(
                [
                    sys.executable,
                    me,
                    "_race",
                    "write",
                    json.dumps({"prefix": f"w{w}", "threads": 2, "per_thread": per_thread}),
                ],
                cwd=REPO,
                env=ph.env(),
                stdout=subprocess.PIPE,
            )
            for w in range(2)
        ]
        published: set[str] = set()
        errors: Counter[str] = Counter()
        for proc in writers:
            out, _ = proc.communicate(timeout=300)
            result = json.loads(out.decode().strip().splitlines()[-1])
            published |= set(result["ok"])
            errors.update({f"publish {k}": v for k, v in result["errors"].items()})
        stop.touch()
        received: Counter[str] = Counter()
        for proc in readers:
            out, _ = proc.communicate(timeout=120)
            result = json.loads(out.decode().strip().splitlines()[-1])
            received.update(result["ok"])
            errors.update({f"read {k}": v for k, v in result["errors"].items()})
        return {
            "race_published": f"{len(published)}/{4 * per_thread}",
            "race_lost": len(published - set(received)),
            "race_dup": sum(c - 1 for c in received.values() if c > 1),
            "race_errors": ", ".join(f"{v} {k}" for k, v in sorted(errors.items())) or "none",
        }
    finally:
        ph.close()


def bench_restart(broker: str, root: Path, k: int, pi: float) -> str:
    ph = Phase(broker, root / "restart", pi)
    try:
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "_publish",
            json.dumps({"prefix": "r", "threads": 1, "per_thread": k}),
        ]
        subprocess.run(cmd, cwd=REPO, env=ph.env(), check=True, capture_output=True, timeout=120)
        ph.start_worker()
        wait_for(lambda: len({t for _, t, _, _ in ph.events()}) >= k, 30)
        return f"{len({t for _, t, _, _ in ph.events()})}/{k}"
    finally:
        ph.close()


def bench_sigkill(broker: str, root: Path, k: int, pi: float) -> str:
    ph = Phase(broker, root / "sigkill", pi)
    try:
        for i in range(k):
            ph.app.send_task("bench.slow", args=[f"s{i}", 1.0])
        ph.start_worker(concurrency=2)
        wait_for(lambda: sum(1 for e in ph.events() if e[0] == "start") >= 2, 30)
        ph.stop_workers(sig=signal.SIGKILL)
        killed_mid_task = {t for kind, t, _, _ in ph.events() if kind == "start"}
        ph.start_worker(concurrency=4)
        window = 15.0  # Redis would redeliver after visibility_timeout (1 h by default)
        wait_for(lambda: len({t for kind, t, _, _ in ph.events() if kind == "done"}) >= k, window)
        done = {t for kind, t, _, _ in ph.events() if kind == "done"}
        again = sum(1 for t in killed_mid_task if t in done)
        return f"{len(done)}/{k} done ({again}/{len(killed_mid_task)} killed mid-task rerun)"
    finally:
        ph.close()


# --- main -------------------------------------------------------------------------------------


def machine() -> str:
    model = "?"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    import sqlite3
    from importlib.metadata import version

    import celery

    return (
        f"{os.cpu_count()} vCPU ({model}), {mem_kb / 1024 / 1024:.1f} GiB RAM, "
        f"Linux {platform.release()}, Python {platform.python_version()}, "
        f"Celery {celery.__version__}, kombu {version('kombu')}, SQLite {sqlite3.sqlite_version}"
    )


def run_broker(broker: str, root: Path, args: argparse.Namespace) -> dict[str, Any]:
    pi = args.polling_interval
    phases: list[tuple[str, Callable[[], Any]]] = [
        ("lat", lambda: bench_latency_throughput(broker, root, args.n, args.samples, pi)),
        ("conc", lambda: bench_concurrent(broker, root, args.concurrent, pi)),
        ("race", lambda: bench_race(broker, root, args.race, pi)),
        ("restart", lambda: bench_restart(broker, root, 50, pi)),
        ("sigkill", lambda: bench_sigkill(broker, root, 8, pi)),
    ]
    res: dict[str, Any] = {}
    for name, fn in phases:
        if name not in args.phases.split(","):
            continue
        try:
            out = fn()
        except Exception as exc:
            out = {"error": f"{name}: {type(exc).__name__}: {exc}"[:300]}
        if isinstance(out, dict):
            res.update(out)
        else:
            res[name] = out
    return res


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_publish":
        publish_main(json.loads(sys.argv[2]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_race":
        race_main(sys.argv[2], json.loads(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="backlog / publish-latency samples")
    parser.add_argument("--samples", type=int, default=200, help="end-to-end latency samples")
    parser.add_argument("--concurrent", type=int, default=250, help="messages per publisher thread")
    parser.add_argument("--race", type=int, default=1000, help="race probe: per writer thread")
    parser.add_argument("--polling-interval", type=float, default=0.02)
    parser.add_argument("--only", default=",".join(ALL_BROKERS))
    parser.add_argument("--phases", default="lat,conc,race,restart,sigkill")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write raw results here")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="broker-bench-"))
    brokers = [b.strip() for b in args.only.split(",") if b.strip()]
    notes: list[str] = []
    results: dict[str, dict[str, Any]] = {}
    print(f"machine: {machine()}", flush=True)
    print(f"workdir: {workdir}", flush=True)
    for broker in brokers:
        if broker == "sqla" and not sqla_available():
            notes.append("sqla+sqlite:// skipped: SQLAlchemy is not importable")
            continue
        if broker == "redis" and not redis_available():
            notes.append(f"{REDIS_URL} skipped: not reachable")
            continue
        root = workdir / broker
        t0 = time.monotonic()
        res = run_broker(broker, root, args)
        results[broker] = res
        print(f"{broker}: done in {time.monotonic() - t0:.0f}s {json.dumps(res)}", flush=True)

    print()
    print(render(results, args))
    for note in notes:
        print(f"- {note}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": results}, indent=2))
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)


def render(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    labels = {
        "embedded": "`embedded://` (ours)",
        "filesystem": "kombu `filesystem://`",
        "sqla": "kombu `sqla+sqlite://`",
        "redis": "`redis://` (local)",
    }

    def f(v: Any, fmt: str) -> str:
        return fmt.format(v) if isinstance(v, (int, float)) else str(v if v is not None else "n/a")

    header = (
        "| broker | publish p50 / p99 (ms) | end-to-end p50 / p99 (ms) "
        "| drain throughput (tasks/s) | idle worker CPU | stored after draining "
        "| concurrent publish via Celery: lost / dup | race probe (kombu): lost / dup, errors "
        "| survives restart | SIGKILLed worker (acks_late) |"
    )
    lines = [header, "|" + "---|" * 10]
    for broker, r in results.items():
        extra = ""
        if r.get("publish_errors"):
            extra += f", {r['publish_errors']} publish errors"
        if r.get("workers_crashed"):
            extra += f", {r['workers_crashed']} worker(s) crashed"
        conc = (
            f"{r.get('lost', 'n/a')} / {r.get('dup', 'n/a')} (of {r.get('published', '?')}{extra})"
        )
        backlog = r.get("phase_total", "?")
        race = (
            f"{r.get('race_lost', 'n/a')} / {r.get('race_dup', 'n/a')} "
            f"(of {r.get('race_published', '?')}), {r.get('race_errors', 'n/a')}"
        )
        e2e = f"{f(r.get('e2e_p50_ms'), '{:.1f}')} / {f(r.get('e2e_p99_ms'), '{:.1f}')}"
        if r.get("e2e_samples", args.samples) < args.samples:
            e2e += f" (only {r['e2e_samples']}/{args.samples} ran)"
        if r.get("lat_worker_crashed"):
            e2e += ", worker crashed"
        cpu = r.get("idle_cpu_pct")
        lines.append(
            f"| {labels.get(broker, broker)} "
            f"| {f(r.get('publish_p50_ms'), '{:.2f}')} / {f(r.get('publish_p99_ms'), '{:.2f}')} "
            f"| {e2e} "
            f"| {f(r.get('throughput'), '{:.0f}')} "
            f"| {f(cpu, '{:.1f} %')} "
            f"| {r.get('stored_after_drain', 'n/a')} of {backlog} "
            f"| {conc} | {race} | {r.get('restart', 'n/a')} | {r.get('sigkill', 'n/a')} |"
        )
    lines.append("")
    lines.append(
        f"N={args.n} backlog, {args.samples} end-to-end samples, concurrent publish "
        f"2 processes x 4 threads x {args.concurrent} with 2 workers consuming; race probe "
        f"2 writer processes x 2 threads x {args.race} vs 2 readers calling basic_get in a "
        f"tight loop; workers `-P threads -c 4`; virtual transports polled every "
        f"{args.polling_interval}s."
    )
    errors = [f"{b}: {r['error']}" for b, r in results.items() if "error" in r]
    errors += [
        f"{b}: first publish error: {r['first_error']}"
        for b, r in results.items()
        if r.get("first_error")
    ]
    if errors:
        lines += ["", *[f"- {e}" for e in errors]]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
