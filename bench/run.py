"""The benchmark, in one command.

    python -m bench.run [--quick] [--rates 10,25,50,100] [--duration 20] [--out docs/bench-results]
    python -m bench.run --quick --only rationed-burst,flaky,steady-one-worker
    python -m bench.run --only peer,memory      # ours beside the peer; RSS over 10,000 lookups

What it runs (each scenario and rate on fresh processes, after a warm-up that is not counted):

1. **ours (Redis)**: ``invoicebot serve --http --no-worker`` plus ``--workers`` ×
   ``invoicebot worker`` (threads pool), broker Redis 127.0.0.1:6379 db 12 (flushed first),
   at each rate: signed ``/invoice <5 ids>`` commands, open loop.
2. **baseline**: ``bench/baseline_app.py`` (minimal Bolt app, Ekuaibao calls in its handler),
   same commands and rates.
3. **sizes**: ours (Redis) at a low rate with four kinds of request mixed: 5 ids, 20 ids
   (the most one command may carry), ``/invoice report B29000100`` (a report of 100
   invoices, looked up again and again: the bot has seen it lately; a reply shows its first
   20) and the same report under codes each used once (its first look).
4. **ours (embedded broker)**: the same as 1 without Redis, rising rates until e2e p99 passes
   1 s (the broker's capacity on this machine).
5. **rationed-burst**, **flaky**, **steady-one-worker** (``bench/scenarios.py``): 40 lookups
   at once on the default Ekuaibao budget; Ekuaibao failing 30 % of calls; one worker
   process on its defaults at steady rates (``--steady-rates``).
6. **peer** (``bench/peer_compare.py``): ours (one bot, one worker, all on defaults) beside
   a hand-built Celery bot (``bench/peer_app.py``) at ``--peer-rates`` (50,100), both in one
   run, 200 users; **memory** (``bench/memory.py``): the RSS of ours over 10,000 lookups.
7. **floor**: one Ekuaibao round trip, measured with 20 sequential ``detailBatch`` calls; and
   an in-process probe of the worker's fetch + render for 5, 20 and 100 ids (what 100 ids in
   one lookup would cost; the bot itself takes at most 20 per request).

Writes ``results.json``, ``results.md`` and ``latency.png`` to ``--out``. Nothing talks to
anything but 127.0.0.1; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import random
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import memory as memory_scenario  # RSS of ours over 10,000 lookups
from bench import peer_compare  # ours beside a hand-built Celery peer
from bench import scenarios as issue10  # the rationed, flaky and one-worker runs
from bench.loadgen import (
    Command,
    Outcome,
    build,
    collect_replies,
    cpu_delta,
    cpu_seconds,
    find_process,
    machine_busy_seconds,
    percentile,
    phases,
    send_open_loop,
    summarize,
    tree_cpu,
)
from bench.standins import BENCH_USERS, BOT_TOKEN, StandIns, bench_user_ids
from tasks.environment import without_settings

REPO = Path(__file__).resolve().parents[1]
DETAIL_BATCH_PATH = "/api/openapi/v2/extension/INVOICE/object/invoice/detailBatch"
INVOICE_URL_PATH = "/api/openapi/v2/extension/INVOICE/url"
DOC = REPO / "docs" / "benchmarks.md"
DOC_START, DOC_END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
#: BENCH_REDIS_URL: another database when 12 is somebody else's (it is flushed).
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
USER_ID = "U0SANDBOX"
APP_KEY, APP_SECURITY = "sandbox-app-key", "sandbox-app-security"
#: EKUAIBAO_RATE_LIMIT may be at most 1000 (tasks/settings.py); the default 5/s protects a
#: real tenant and would make any load test a test of the limiter.
RATE_LIMIT, RATE_BURST = "1000", "10000"
WARMUP_REQUESTS, WARMUP_RATE = 10, 5.0
#: With many users the warm-up sends one lookup from each, at this rate.
WARMUP_MANY_USERS_RATE = 20.0
E2E_CAPACITY_MS = 1000.0
#: Other processes using more CPU than this (in cores) during a session mark it disturbed.
DISTURBED_CORES = 0.15
#: What `--only` can pick (the floor always runs: every ratio needs it).
SCENARIOS = (
    "ours-redis",
    "baseline",
    "sizes",
    "embedded",
    "rationed-burst",
    "flaky",
    "steady-one-worker",
    "peer",
    "memory",
)

TARGETS = {
    "ack_p99_50": 10.0,
    "ack_p99_100": 20.0,
    "e2e_p50_50": 215.0,
    "e2e_p99_50": 230.0,
    "e2e_p99_100": 260.0,
    "cpu_per_reply": 8.0,
    "large_ratio": 1.2,
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Config:
    rates: list[float]
    duration: float
    out: Path
    quick: bool
    ekuaibao_latency_ms: float
    slack_latency_ms: float
    workers: int
    worker_concurrency: int
    bot_threads: int
    embedded_rates: list[float]
    embedded_duration: float
    sizes_rate: float
    sizes_duration: float
    grace_s: float
    run_baseline: bool
    run_embedded: bool
    run_sizes: bool
    keep: bool
    update_doc: bool
    priority: int
    only: frozenset[str] = frozenset(SCENARIOS)
    steady_rates: list[float] = field(default_factory=lambda: [50.0, 100.0, 150.0])
    #: steady-one-worker: WORKER_CONCURRENCY for its worker (None: the worker's default).
    steady_concurrency: int | None = None
    #: Slack users the load comes from, round-robin (1: USER_ID alone; peer: 200 when 1).
    users: int = 1
    peer_rates: list[float] = field(default_factory=lambda: [50.0, 100.0])
    memory_lookups: int = 10_000
    memory_rate: float = 100.0
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ekb-bench-")))


# -- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env() -> dict[str, str]:
    """The parent's environment without settings or proxies: nothing may leave 127.0.0.1."""
    env = {k: v for k, v in without_settings(os.environ).items() if "proxy" not in k.lower()}
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class System:
    """The processes under test: one HTTP app and its workers."""

    name: str
    url: str
    secret: str
    app: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]]

    def app_pids(self) -> list[int]:
        return [self.app.pid]

    def worker_pids(self) -> list[int]:
        return [w.pid for w in self.workers]

    def alive(self) -> bool:
        return all(p.poll() is None for p in [self.app, *self.workers])

    def stop(self) -> None:
        procs = [self.app, *self.workers]
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                # each was started in its own session: its group is ours alone
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def _spawn(
    args: list[str], env: dict[str, str], log_path: Path, cwd: Path
) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log_file:
        return subprocess.Popen(
            args,
            env=env,
            cwd=cwd,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_listening(
    port: int, proc: subprocess.Popen[bytes], path: str | None, log_path: Path
) -> None:
    deadline = time.monotonic() + 60
    with httpx.Client(trust_env=False, timeout=1) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"exited with {proc.returncode}; see {log_path}")
            try:
                if path is None:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        return
                elif client.get(f"http://127.0.0.1:{port}{path}").status_code == 200:
                    return
            except (OSError, httpx.HTTPError):
                pass
            time.sleep(0.1)
    raise RuntimeError(f"not listening after 60 s; see {log_path}")


def app_env(standins: StandIns, secret: str) -> dict[str, str]:
    """What both apps need: Slack and Ekuaibao (the stand-ins), credentials, a clean env."""
    env = clean_env()
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=secret,
        SLACK_API_URL=standins.slack_api_url,
        SLACK_RESPONSE_URL_PREFIXES=standins.slack_response_url_prefix,
        EKUAIBAO_BASE_URL=standins.ekuaibao_url,
        EKUAIBAO_APP_KEY=APP_KEY,
        EKUAIBAO_APP_SECURITY=APP_SECURITY,
        # The bench's one Slack user stands for everyone sending load, not one person's flood.
        LOOKUPS_PER_PERSON="100",
    )
    return env


def start_ours(cfg: Config, standins: StandIns, broker: str, folder: Path) -> System:
    secret = secrets.token_hex(16)
    env = app_env(standins, secret)
    env.update(
        EKUAIBAO_RATE_LIMIT=RATE_LIMIT,
        EKUAIBAO_RATE_BURST=RATE_BURST,
        WORKER_POOL="threads",
        WORKER_CONCURRENCY=str(cfg.worker_concurrency),
        ACCESS_MODE="open",
        STATE_DIR=str(folder / "state"),
        LOG_LEVEL="INFO",
    )
    if broker == "redis":
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        env["CELERY_BROKER_URL"] = REDIS_URL
    port = free_port()
    bot_log = folder / "bot.log"
    py = sys.executable
    app = _spawn(
        [
            py,
            "-m",
            "bot.cli",
            "serve",
            "--http",
            "--port",
            str(port),
            "--no-worker",
            "--threads",
            str(cfg.bot_threads),
        ],
        env,
        bot_log,
        folder,
    )
    workers = [
        _spawn([py, "-m", "bot.cli", "worker"], env, folder / f"worker-{n}.log", folder)
        for n in range(cfg.workers)
    ]
    system = System(f"ours-{broker}", f"http://127.0.0.1:{port}/slack/events", secret, app, workers)
    try:
        _wait_listening(port, app, "/healthz", bot_log)
    except Exception:
        system.stop()
        raise
    return system


def start_baseline(cfg: Config, standins: StandIns, folder: Path) -> System:
    secret = secrets.token_hex(16)
    env = app_env(standins, secret)
    port = free_port()
    log_path = folder / "baseline.log"
    app = _spawn(
        [
            sys.executable,
            "-m",
            "bench.baseline_app",
            "--port",
            str(port),
            "--threads",
            str(cfg.bot_threads),
        ],
        env,
        log_path,
        REPO,
    )
    system = System("baseline", f"http://127.0.0.1:{port}/slack/events", secret, app, [])
    try:
        _wait_listening(port, app, None, log_path)
    except Exception:
        system.stop()
        raise
    return system


@contextlib.contextmanager
def stand_ins(cfg: Config, folder: Path) -> Iterator[StandIns]:
    folder.mkdir(parents=True, exist_ok=True)
    s = StandIns.start(
        folder / "standins.log",
        ekuaibao_latency_ms=cfg.ekuaibao_latency_ms,
        slack_latency_ms=cfg.slack_latency_ms,
        priority=cfg.priority,
        env=clean_env(),
    )
    try:
        yield s
    finally:
        s.stop()


# -- one measured session -------------------------------------------------------------------


def user_pool(cfg: Config) -> list[str]:
    """`--users` Slack users (the stand-in knows each), or USER_ID alone."""
    return bench_user_ids(cfg.users) if cfg.users > 1 else [USER_ID]


def _ids(kind: str, rng: random.Random, ids: Sequence[str], n: int) -> Command:
    chosen = tuple(rng.sample(list(ids), n))
    return Command(kind, " ".join(chosen), f"{n} found, 0 not found", chosen)


#: Hands out each cold report code once per run.
_COLD = itertools.count()


def commands_for(kinds: Sequence[str], n: int, standins: StandIns, seed: int) -> list[Command]:
    rng = random.Random(seed)
    ids = standins.invoice_ids
    out: list[Command] = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        if kind == "ids5":
            out.append(_ids(kind, rng, ids, 5))
        elif kind == "ids20":
            out.append(_ids(kind, rng, ids, 20))
        elif kind == "report":
            out.append(Command("report", f"report {standins.report_code}", "20 found, 0 not found"))
        elif kind == "report_cold":  # a report code no earlier request used
            code = standins.cold_report_codes[next(_COLD) % len(standins.cold_report_codes)]
            out.append(Command("report_cold", f"report {code}", "20 found, 0 not found"))
        else:
            raise ValueError(kind)
    return out


def _snapshot(system: System, standins: StandIns, redis_pid: int | None) -> dict[str, Any]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "app": tree_cpu(system.app_pids()),
        "workers": tree_cpu(system.worker_pids()),
        "standins": tree_cpu([standins.pid]),
        "redis": cpu_seconds(redis_pid) if redis_pid else 0.0,
        "loadgen": usage.ru_utime + usage.ru_stime,
        "machine": machine_busy_seconds(),
        "wall": time.time(),
    }


def session(
    cfg: Config,
    label: str,
    rate: float,
    duration: float,
    kinds: Sequence[str],
    start: Callable[[StandIns, Path], System],
    *,
    users: Sequence[str] | None = None,
    grace_s: float | None = None,
) -> dict[str, Any]:
    """Fresh stand-ins and system, a warm-up, then `rate` × `duration` requests, open loop,
    from `users` round-robin (default: `--users`); with many users the warm-up sends one
    lookup from each (their locale is read once, then cached)."""
    pool = list(users) if users else user_pool(cfg)
    grace = cfg.grace_s if grace_s is None else grace_s
    n_warm = WARMUP_REQUESTS if len(pool) == 1 else len(pool)
    warm_rate = WARMUP_RATE if len(pool) == 1 else WARMUP_MANY_USERS_RATE
    folder = cfg.folder / f"{label}-{rate:g}"
    folder.mkdir(parents=True, exist_ok=True)
    n = max(1, round(rate * duration))
    log(f"{label}: {rate:g} req/s × {duration:g} s ({n} requests)")
    with stand_ins(cfg, folder) as standins:
        system = start(standins, folder)
        try:
            # warm-up: token, locale, connections, threads; not counted
            warm = build(
                system.secret,
                commands_for(kinds, n_warm, standins, seed=1),
                standins.response_urls(n_warm),
                pool,
            )
            send_open_loop(system.url, warm, warm_rate)
            collect_replies(standins, warm, grace_s=cfg.grace_s, quiet_s=0.5)
            warm_ok = sum(1 for o in warm if o.replied)
            if warm_ok == 0:
                raise RuntimeError(f"no reply to any warm-up request; logs in {folder}")
            time.sleep(0.5)
            outcomes = build(
                system.secret,
                commands_for(kinds, n, standins, seed=int(rate * 1000)),
                standins.response_urls(n),
                pool,
            )
            redis_pid = find_process("redis-server")
            before = _snapshot(system, standins, redis_pid)
            after: dict[str, Any] = {}
            send_open_loop(system.url, outcomes, rate, priority=cfg.priority)
            collect_replies(
                standins,
                outcomes,
                grace_s=grace,
                on_all_in=lambda: after.update(_snapshot(system, standins, redis_pid)),
            )
            stats = standins.stats()
            calls = standins.calls()
            alive = system.alive()
        finally:
            system.stop()
    result = _result(label, rate, duration, outcomes, before, after, kinds)
    result.update(warmup_replied=warm_ok, processes_alive_at_end=alive, ekuaibao=stats)
    result.update(users=len(pool), grace_s=grace)
    result["phases"] = phases(outcomes, calls, cfg.ekuaibao_latency_ms)
    for kind, summary in (result.get("by_kind") or {}).items():
        mine = [o for o in outcomes if o.kind == kind]
        summary["phases"] = phases(mine, calls, cfg.ekuaibao_latency_ms)
    _print_row(result)
    return result


def _result(
    label: str,
    rate: float,
    duration: float,
    outcomes: list[Outcome],
    before: dict[str, Any],
    after: dict[str, Any],
    kinds: Sequence[str],
) -> dict[str, Any]:
    summary = summarize(outcomes)
    replied = max(1, summary["replied"])
    cpu = {
        "app_s": cpu_delta(before["app"], after["app"]),
        "workers_s": cpu_delta(before["workers"], after["workers"]),
        "standins_s": cpu_delta(before["standins"], after["standins"]),
        "redis_s": after["redis"] - before["redis"],
        "loadgen_s": after["loadgen"] - before["loadgen"],
        "window_s": after["wall"] - before["wall"],
    }
    ours = sum(v for k, v in cpu.items() if k.endswith("_s") and k != "window_s")
    # CPU of everything else on the machine (other people's jobs, the kernel's own work)
    cpu["others_s"] = max(0.0, after["machine"] - before["machine"] - ours)
    result: dict[str, Any] = {"label": label, "rate": rate, "duration_s": duration, **summary}
    result["cpu"] = cpu
    result["cpu_ms_per_reply"] = (cpu["app_s"] + cpu["workers_s"]) * 1000 / replied
    result["cpu_app_ms_per_request"] = cpu["app_s"] * 1000 / max(1, summary["sent"])
    result["cpu_workers_ms_per_reply"] = cpu["workers_s"] * 1000 / replied
    result["cpu_cores_busy"] = (
        (cpu["app_s"] + cpu["workers_s"]) / cpu["window_s"] if cpu["window_s"] > 0 else None
    )
    window = cpu["window_s"] or 1.0
    result["other_cores"] = cpu["others_s"] / window
    result["disturbed"] = result["other_cores"] > DISTURBED_CORES
    if len(kinds) > 1:
        result["by_kind"] = {k: summarize([o for o in outcomes if o.kind == k]) for k in kinds}
    return result


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _print_row(r: dict[str, Any]) -> None:
    log(
        f"  sent {r['sent']} achieved {_fmt(r['achieved_rps'])}/s | ack p50 {_fmt(r['ack_p50_ms'])}"
        f" p99 {_fmt(r['ack_p99_ms'])} >3s {r['acks_over_3s']} | e2e p50 {_fmt(r['e2e_p50_ms'])}"
        f" p99 {_fmt(r['e2e_p99_ms'])} | lost {r['lost']} wrong {r['wrong_replies']}"
        f" | cpu {_fmt(r['cpu_ms_per_reply'], 2)} ms/reply | others {r['other_cores']:.2f} cores"
    )
    if r["disturbed"]:
        log("  WARNING: other processes used CPU during this session; its numbers are disturbed")
    ph = r.get("phases") or {}
    if ph.get("matched"):
        log(
            "  phases p50/p99: "
            + " ".join(
                f"{name} {_fmt(ph[f'{name}_p50_ms'])}/{_fmt(ph[f'{name}_p99_ms'])}"
                for name in ("dispatch", "spread", "after")
            )
            + " ms"
        )


# -- floor and the 100-id probe ------------------------------------------------------------


def measure_floor(cfg: Config) -> dict[str, Any]:
    """One Ekuaibao round trip, as a worker makes it: 5-id detailBatch, keep-alive, token."""
    log("floor: 20 sequential detailBatch calls (5 ids) and 20 INVOICE/url calls")
    folder = cfg.folder / "floor"
    with (
        stand_ins(cfg, folder) as standins,
        httpx.Client(base_url=standins.ekuaibao_url, trust_env=False, timeout=10) as client,
    ):
        started = time.perf_counter()
        token = client.post(
            "/api/openapi/v1/auth/getAccessToken",
            json={"appKey": APP_KEY, "appSecurity": APP_SECURITY},
        ).json()["value"]["accessToken"]
        token_ms = (time.perf_counter() - started) * 1000  # the latency applies here too
        rng = random.Random(7)
        times: dict[str, list[float]] = {"detailBatch": [], "url": []}
        for _ in range(20):
            ids = rng.sample(standins.invoice_ids, 5)
            for name, path, key in (
                ("detailBatch", DETAIL_BATCH_PATH, "invoiceIds"),
                ("url", INVOICE_URL_PATH, "invoiceId"),
            ):
                started = time.perf_counter()
                client.post(path, params={"accessToken": token}, json={key: ids}).raise_for_status()
                times[name].append((time.perf_counter() - started) * 1000)
        probe = fetch_probe(standins)
    floor = percentile(times["detailBatch"], 50)
    return {
        "floor_ms": floor,
        "detailBatch_p50_ms": floor,
        "detailBatch_min_ms": min(times["detailBatch"]),
        "detailBatch_max_ms": max(times["detailBatch"]),
        "url_p50_ms": percentile(times["url"], 50),
        "token_call_ms": token_ms,
        "ekuaibao_latency_ms": cfg.ekuaibao_latency_ms,
        "fetch_probe": probe,
    }


def fetch_probe(standins: StandIns) -> dict[str, Any]:
    """The worker's own code (client, assemble, render) for 5, 20 and 100 ids, in this process:
    what one lookup of 100 ids would cost. Not through Slack or the broker."""
    try:
        from concurrent.futures import ThreadPoolExecutor

        from tasks.ekuaibao.client import Credentials, EkuaibaoClient, InvoiceData
        from tasks.ekuaibao.tokens import MemoryTokenStore
        from tasks.shared.texts import texts_for
        from tasks.slack import render
        from tasks.summary import assemble
    except ImportError as exc:  # product code moved: skip, do not fail the benchmark
        return {"error": f"import failed: {exc}"}
    out: dict[str, Any] = {}
    pool = ThreadPoolExecutor(max_workers=8)
    http = httpx.Client(base_url=standins.ekuaibao_url, trust_env=False, timeout=10)
    try:
        client = EkuaibaoClient(http, Credentials(APP_KEY, APP_SECURITY), MemoryTokenStore())
        client._token()  # fetched once, as a warm worker has it
        texts = texts_for("en")
        for n in (5, 20, 100):
            ids = tuple(standins.invoice_ids[:n])
            walls, cpus, messages = [], [], 0
            for _ in range(5):
                started, cpu0 = time.perf_counter(), time.process_time()
                fetched_at = time.time()
                lines = pool.submit(client.line_items, ids)
                links = pool.submit(client.attachments, ids, fetched_at)
                masters = pool.submit(client.invoice_masters, "invoice", ids)
                data = InvoiceData(tuple(lines.result()), tuple(links.result()), fetched_at)
                result = assemble(ids, data, masters.result())
                # a reply's buttons carry at most 20 ids (a command's limit): 100 go without
                controls = render.Controls(owner=USER_ID) if n <= 20 else None
                rendered = render.lookup_messages(result, texts, controls)
                walls.append((time.perf_counter() - started) * 1000)
                cpus.append((time.process_time() - cpu0) * 1000)
                messages = len(rendered)
            out[str(n)] = {
                "wall_p50_ms": percentile(walls, 50),
                "cpu_p50_ms": percentile(cpus, 50),
                "messages": messages,
            }
    except Exception as exc:  # a probe, never a reason to lose the run
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        http.close()
        pool.shutdown(wait=False)
    return out


# -- the whole run ----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as f:
        model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    mem_kb = 0
    with contextlib.suppress(OSError), open("/proc/meminfo", encoding="utf-8") as f:
        mem_kb = next((int(ln.split()[1]) for ln in f if ln.startswith("MemTotal")), 0)
    redis_version = None
    with contextlib.suppress(Exception):
        import redis

        redis_version = redis.Redis.from_url(REDIS_URL, socket_timeout=2).info("server")[
            "redis_version"
        ]
    return {
        "cpus": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "redis": redis_version,
        "kernel": platform.release(),
        "loadavg_at_start": os.getloadavg()[0],
    }


def redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def run(cfg: Config) -> dict[str, Any]:
    started = time.time()
    results: dict[str, Any] = {
        "meta": {
            "machine": machine(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(started)),
            "quick": cfg.quick,
            "config": {
                "rates": cfg.rates,
                "duration_s": cfg.duration,
                "ekuaibao_latency_ms": cfg.ekuaibao_latency_ms,
                "slack_latency_ms": cfg.slack_latency_ms,
                "workers": cfg.workers,
                "worker_pool": "threads",
                "worker_concurrency": cfg.worker_concurrency,
                "bot_threads": cfg.bot_threads,
                "ekuaibao_rate_limit": RATE_LIMIT,
                "ids_per_request": 5,
                "warmup_requests": WARMUP_REQUESTS,
                "grace_s": cfg.grace_s,
                "embedded_rates": cfg.embedded_rates,
                "embedded_duration_s": cfg.embedded_duration,
                "sizes_rate": cfg.sizes_rate,
                "sizes_duration_s": cfg.sizes_duration,
            },
        },
        "scenarios": {},
    }
    scenarios: dict[str, Any] = results["scenarios"]
    results["floor"] = measure_floor(cfg)
    log(f"floor: {_fmt(results['floor']['floor_ms'])} ms")

    have_redis = redis_up()
    if not have_redis:
        log("Redis is not reachable at 127.0.0.1:6379: skipping the Redis scenarios")
    elif "ours-redis" in cfg.only:
        scenarios["ours_redis"] = [
            session(
                cfg,
                "ours-redis",
                rate,
                cfg.duration,
                ["ids5"],
                lambda s, f: start_ours(cfg, s, "redis", f),
            )
            for rate in cfg.rates
        ]
    if cfg.run_baseline and "baseline" in cfg.only:
        scenarios["baseline"] = [
            session(
                cfg,
                "baseline",
                rate,
                cfg.duration,
                ["ids5"],
                lambda s, f: start_baseline(cfg, s, f),
            )
            for rate in cfg.rates
        ]
    if cfg.run_sizes and have_redis and "sizes" in cfg.only:
        scenarios["sizes"] = session(
            cfg,
            "sizes",
            cfg.sizes_rate,
            cfg.sizes_duration,
            ["ids5", "ids20", "report", "report_cold"],
            lambda s, f: start_ours(cfg, s, "redis", f),
        )
    if cfg.run_embedded and "embedded" in cfg.only:
        sweep = []
        for rate in cfg.embedded_rates:
            r = session(
                cfg,
                "ours-embedded",
                rate,
                cfg.embedded_duration,
                ["ids5"],
                lambda s, f: start_ours(cfg, s, "embedded", f),
            )
            sweep.append(r)
            if r["lost"] or (r["e2e_p99_ms"] or 0) > E2E_CAPACITY_MS:
                break  # past capacity: higher rates would only be slower
        scenarios["ours_embedded"] = sweep
    this = sys.modules[__name__]
    if have_redis and "rationed-burst" in cfg.only:
        scenarios["rationed_burst"] = issue10.rationed_burst(this, cfg)
    if have_redis and "flaky" in cfg.only:
        scenarios["flaky"] = issue10.flaky(this, cfg)
    if have_redis and "steady-one-worker" in cfg.only:
        scenarios["steady_one_worker"] = issue10.steady_one_worker(this, cfg, cfg.steady_rates)
    if have_redis and "peer" in cfg.only:
        scenarios["peer"] = peer_compare.peer(this, cfg, cfg.peer_rates)
    if have_redis and "memory" in cfg.only:
        scenarios["memory"] = memory_scenario.memory(this, cfg)
    results["meta"]["config"]["only"] = sorted(cfg.only)
    results["meta"]["config"]["steady_rates"] = cfg.steady_rates
    results["meta"]["config"]["steady_concurrency"] = cfg.steady_concurrency
    results["meta"]["config"]["users"] = cfg.users
    results["meta"]["wall_s"] = round(time.time() - started, 1)
    results["targets"] = evaluate(results)
    return results


# -- targets --------------------------------------------------------------------------------


def _at(rows: Sequence[dict[str, Any]], rate: float) -> dict[str, Any] | None:
    return next((r for r in rows if r["rate"] == rate), None)


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    sc = results["scenarios"]
    ours: list[dict[str, Any]] = sc.get("ours_redis", [])
    targets: list[dict[str, Any]] = []

    def add(
        name: str, target: str, measured: float | None, ok: bool | None, note: str = ""
    ) -> None:
        targets.append(
            {"name": name, "target": target, "measured": measured, "pass": ok, "note": note}
        )

    def check(rate: float, metric: str, limit: float, name: str) -> None:
        row = _at(ours, rate)
        value = row.get(metric) if row else None
        add(
            name,
            f"≤ {limit:g} ms",
            value,
            None if value is None else value <= limit,
            "" if row else f"not measured: {rate:g} req/s not in --rates",
        )

    check(50, "ack_p99_ms", TARGETS["ack_p99_50"], "ack p99 @ 50 req/s")
    check(100, "ack_p99_ms", TARGETS["ack_p99_100"], "ack p99 @ 100 req/s")
    over = sum(r["acks_over_3s"] for r in ours) if ours else None
    add("acks over 3 s (all rates)", "0", over, None if over is None else over == 0)
    check(50, "e2e_p50_ms", TARGETS["e2e_p50_50"], "e2e p50 @ 50 req/s")
    check(50, "e2e_p99_ms", TARGETS["e2e_p99_50"], "e2e p99 @ 50 req/s")
    check(100, "e2e_p99_ms", TARGETS["e2e_p99_100"], "e2e p99 @ 100 req/s")
    lost = sum(r["lost"] for r in ours) if ours else None
    add("replies lost (all rates)", "0", lost, None if lost is None else lost == 0)
    if ours:
        worst = max(ours, key=lambda r: r["cpu_ms_per_reply"])
        add(
            "CPU per reply, bot + worker (worst rate)",
            f"≤ {TARGETS['cpu_per_reply']:g} ms",
            worst["cpu_ms_per_reply"],
            worst["cpu_ms_per_reply"] <= TARGETS["cpu_per_reply"],
            f"at {worst['rate']:g} req/s",
        )
    sizes = sc.get("sizes")
    if sizes and "by_kind" in sizes:
        base = sizes["by_kind"]["ids5"]["e2e_p50_ms"]
        for kind, label in (
            ("report_cold", "report of 100 invoices, first look (page of 20)"),
            ("report", "report of 100 invoices, seen in the last 30 min (page of 20)"),
            ("ids20", "20 ids in one command (the most allowed)"),
        ):
            value = sizes["by_kind"][kind]["e2e_p50_ms"]
            first = sizes["by_kind"][kind]["first_message_p50_ms"]
            ratio = value / base if value and base else None
            first_ratio = first / base if first and base else None
            add(
                f"e2e p50 (whole reply), {label} ÷ 5-id e2e p50",
                f"≤ {TARGETS['large_ratio']:g}×",
                ratio,
                None if ratio is None else ratio <= TARGETS["large_ratio"],
                f"{_fmt(value)} ms vs {_fmt(base)} ms at {sizes['rate']:g} req/s; first "
                f"message {_fmt(first)} ms ({_fmt(first_ratio, 2)}×)",
            )
    emb = sc.get("ours_embedded")
    if emb:
        passing = [
            r["rate"] for r in emb if not r["lost"] and (r["e2e_p99_ms"] or 0) <= E2E_CAPACITY_MS
        ]
        failing = [r["rate"] for r in emb if r["lost"] or (r["e2e_p99_ms"] or 0) > E2E_CAPACITY_MS]
        note = (
            f"p99 ≤ 1 s up to {max(passing):g} req/s" if passing else "p99 > 1 s at every rate"
        ) + (f"; passes 1 s at {min(failing):g} req/s" if failing else "; never passed 1 s")
        add(
            "embedded broker capacity (e2e p99 passes 1 s)",
            "documented",
            min(failing) if failing else None,
            None,
            note,
        )
    issue10.evaluate(results, add)
    peer_compare.evaluate(results, add)
    memory_scenario.evaluate(results, add)
    return targets


# -- output ---------------------------------------------------------------------------------


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def markdown(results: dict[str, Any]) -> str:
    meta, sc, floor = results["meta"], results["scenarios"], results["floor"]
    m, c = meta["machine"], meta["config"]
    floor_ms = floor["floor_ms"]
    lines = [
        "# Benchmark results",
        "",
        f"Run {meta['started']}{' (--quick)' if meta['quick'] else ''}, {meta['wall_s']:.0f} s. "
        f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gb']} GB, Python {m['python']}, "
        f"Redis {m['redis']}, Linux {m['kernel']}.",
        "",
        f"Ekuaibao stand-in latency {c['ekuaibao_latency_ms']:g} ms per call, Slack stand-in "
        f"{c['slack_latency_ms']:g} ms; 5 ids per request; {c['duration_s']:g} s per rate; "
        f"ours = bot (waitress, {c['bot_threads']} threads) + {c['workers']} worker(s) "
        f"(pool {c['worker_pool']}, concurrency {c['worker_concurrency']}); "
        f"EKUAIBAO_RATE_LIMIT={c['ekuaibao_rate_limit']}.",
        "",
        f"**Floor** (one Ekuaibao round trip, 5-id detailBatch, measured): "
        f"{_fmt(floor_ms)} ms (min {_fmt(floor['detailBatch_min_ms'])}, "
        f"max {_fmt(floor['detailBatch_max_ms'])}); "
        f"INVOICE/url p50 {_fmt(floor['url_p50_ms'])} ms; "
        f"the token call {_fmt(floor['token_call_ms'])} ms (the latency applies to it too; the "
        "bot caches the token, so it is paid once, in the warm-up).",
        "",
        "## Targets",
        "",
        "| target | limit | measured | result | note |",
        "|---|---|---|---|---|",
    ]
    disturbed = [
        f"{key} {r['rate']:g} req/s ({r['other_cores']:.2f} cores)"
        for key in ("ours_redis", "baseline", "ours_embedded", "steady_one_worker")
        for r in sc.get(key, [])
        if r.get("disturbed")
    ]
    if disturbed:
        lines[-4:-4] = [
            "⚠ **Disturbed**: other processes used CPU during "
            + ", ".join(disturbed)
            + "; rerun those on a quiet machine before trusting them.",
            "",
        ]
    for t in results["targets"]:
        verdict = {True: "**pass**", False: "**FAIL**", None: "—"}[t["pass"]]
        measured = t["measured"]
        shown = _fmt(measured, 2) if isinstance(measured, float) else _fmt(measured)
        lines.append(f"| {t['name']} | {t['target']} | {shown} | {verdict} | {t['note']} |")
    base_rows = {r["rate"]: r for r in sc.get("baseline", [])}
    header = (
        "| rate req/s | sent | achieved req/s | ack p50 ms | ack p99 ms | ack max ms | acks > 3 s "
        "| e2e p50 ms | e2e p99 ms | e2e max ms | lost | wrong | CPU ms/reply (bot+worker) "
        "| e2e p50 ÷ floor | e2e p99 ÷ floor | e2e p50 ÷ baseline | e2e p99 ÷ baseline |"
    )
    titles = {
        "ours_redis": "Ours, Redis broker",
        "steady_one_worker": "One `invoicebot worker` on its defaults (Redis)",
        "baseline": "Baseline (minimal Bolt app, Ekuaibao calls in the handler)",
        "ours_embedded": "Ours, embedded broker (rising rate until e2e p99 > 1 s)",
    }
    for key, title in titles.items():
        rows = sc.get(key)
        if not rows:
            continue
        lines += ["", f"## {title}", "", header, "|" + "---|" * 17]
        for r in rows:
            b = base_rows.get(r["rate"]) if key != "baseline" else None
            lines.append(
                "| "
                + " | ".join(
                    [
                        f"{r['rate']:g}" + (" ⚠" if r.get("disturbed") else ""),
                        str(r["sent"]),
                        _fmt(r["achieved_rps"]),
                        _fmt(r["ack_p50_ms"]),
                        _fmt(r["ack_p99_ms"]),
                        _fmt(r["ack_max_ms"]),
                        str(r["acks_over_3s"]),
                        _fmt(r["e2e_p50_ms"]),
                        _fmt(r["e2e_p99_ms"]),
                        _fmt(r["e2e_max_ms"]),
                        str(r["lost"]),
                        str(r["wrong_replies"]),
                        _fmt(r["cpu_ms_per_reply"], 2),
                        _fmt(ratio(r["e2e_p50_ms"], floor_ms), 2),
                        _fmt(ratio(r["e2e_p99_ms"], floor_ms), 2),
                        _fmt(ratio(r["e2e_p50_ms"], b["e2e_p50_ms"]) if b else None, 2),
                        _fmt(ratio(r["e2e_p99_ms"], b["e2e_p99_ms"]) if b else None, 2),
                    ]
                )
                + " |"
            )
    sizes = sc.get("sizes")
    if sizes and "by_kind" in sizes:
        lines += [
            "",
            f"## Request sizes (ours, Redis, {sizes['rate']:g} req/s mixed, "
            f"{sizes['duration_s']:g} s)",
            "",
            "| request | sent | ack p99 ms | e2e p50 ms | e2e p99 ms | first message p50 ms "
            "| messages/reply | lost | wrong | e2e p50 ÷ 5-id | first message ÷ 5-id |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        names = {
            "ids5": "`/invoice` 5 ids",
            "ids20": "`/invoice` 20 ids",
            "report": "`/invoice report`, seen in the last 30 min (100 invoices, page of 20)",
            "report_cold": "`/invoice report`, first look (100 invoices, page of 20)",
        }
        base = sizes["by_kind"]["ids5"]["e2e_p50_ms"]
        for kind, s in sizes["by_kind"].items():
            lines.append(
                f"| {names.get(kind, kind)} | {s['sent']} | {_fmt(s['ack_p99_ms'])} "
                f"| {_fmt(s['e2e_p50_ms'])} | {_fmt(s['e2e_p99_ms'])} "
                f"| {_fmt(s['first_message_p50_ms'])} | {_fmt(s['messages_per_reply'], 2)} "
                f"| {s['lost']} | {s['wrong_replies']} | {_fmt(ratio(s['e2e_p50_ms'], base), 2)} "
                f"| {_fmt(ratio(s['first_message_p50_ms'], base), 2)} |"
            )
        lines.append(
            f"\nCPU (bot + worker) over the mix: {_fmt(sizes['cpu_ms_per_reply'], 2)} ms per reply."
        )
    lines += issue10.markdown(results)
    lines += peer_compare.markdown(results)
    lines += memory_scenario.markdown(results)
    probe = floor.get("fetch_probe") or {}
    if probe and "error" not in probe:
        lines += [
            "",
            "## The worker's fetch + render for n ids (in-process probe, no Slack, no broker)",
            "",
            "| ids | wall p50 ms | CPU p50 ms | messages | wall ÷ 5-id |",
            "|---|---|---|---|---|",
        ]
        base5 = probe.get("5", {}).get("wall_p50_ms")
        for n, p in probe.items():
            lines.append(
                f"| {n} | {_fmt(p['wall_p50_ms'])} | {_fmt(p['cpu_p50_ms'])} | {p['messages']} "
                f"| {_fmt(ratio(p['wall_p50_ms'], base5), 2)} |"
            )
    elif probe:
        lines += ["", f"Fetch probe skipped: {probe['error']}"]
    lines += [
        "",
        "## Where the time goes (from the Ekuaibao stand-in's arrival times, ms p50 / p99)",
        "",
        "dispatch = command sent → its first Ekuaibao call arrives (ack, broker, worker "
        "pickup, pre-fetch work); spread = first → last of its Ekuaibao calls (0 when "
        "concurrent); after = the last call's answer is due → the reply reaches Slack "
        "(transfer, JSON parsing, rendering, bookkeeping, the post).",
        "",
        "| scenario | rate | Ekuaibao calls/reply | dispatch | spread | after |",
        "|---|---|---|---|---|---|",
    ]
    for key in ("ours_redis", "baseline", "ours_embedded", "steady_one_worker"):
        for r in sc.get(key, []):
            ph = r.get("phases") or {}
            if not ph.get("matched"):
                continue
            cells = " | ".join(
                f"{_fmt(ph[f'{name}_p50_ms'])} / {_fmt(ph[f'{name}_p99_ms'])}"
                for name in ("dispatch", "spread", "after")
            )
            lines.append(
                f"| {key} | {r['rate']:g} | {_fmt(ph['ekuaibao_calls_per_reply'], 2)} | {cells} |"
            )
    lines += [
        "",
        "## CPU by process (seconds over each measured window)",
        "",
        "| scenario | rate | bot/app s | workers s | stand-ins s | Redis s | load generator s "
        "| other processes s | window s | bot+worker cores busy | Ekuaibao stand-in late p99 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key in ("ours_redis", "baseline", "ours_embedded", "steady_one_worker"):
        for r in sc.get(key, []):
            cpu = r["cpu"]
            lines.append(
                f"| {key} | {r['rate']:g} | {cpu['app_s']:.2f} | {cpu['workers_s']:.2f} "
                f"| {cpu['standins_s']:.2f} | {cpu['redis_s']:.2f} | {cpu['loadgen_s']:.2f} "
                f"| {cpu.get('others_s', 0.0):.2f} | {cpu['window_s']:.1f} "
                f"| {_fmt(r['cpu_cores_busy'], 2)} "
                f"| {_fmt(r['ekuaibao']['ekuaibao_overrun_ms']['p99'])} |"
            )
    lines.append("")
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> None:
    """ack and e2e p50/p99 vs rate (log scale, every series), and a linear close-up of our
    e2e with the floor and the targets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sc, floor_ms = results["scenarios"], results["floor"]["floor_ms"]
    fig, (ack_ax, e2e_ax, zoom_ax) = plt.subplots(1, 3, figsize=(17, 5))
    series = (
        ("ours_redis", "ours (Redis)", "tab:blue"),
        ("ours_embedded", "ours (embedded broker)", "tab:green"),
        ("baseline", "baseline (Bolt, calls in handler)", "tab:red"),
    )
    for key, name, color in series:
        rows = sc.get(key) or []
        rates = [r["rate"] for r in rows]
        axes = [(ack_ax, "ack"), (e2e_ax, "e2e")]
        if key != "baseline":
            axes.append((zoom_ax, "e2e"))
        for ax, metric in axes:
            for q, style in (("p50", "-"), ("p99", "--")):
                values = [r[f"{metric}_{q}_ms"] for r in rows]
                pts = [(x, y) for x, y in zip(rates, values, strict=True) if y is not None]
                if pts:
                    xs, ys = zip(*pts, strict=True)
                    ax.plot(xs, ys, style, marker="o", color=color, label=f"{name} {q}")
    for ax in (e2e_ax, zoom_ax):
        ax.axhline(floor_ms, color="black", linewidth=1, label=f"floor {floor_ms:.0f} ms")
    ack_ax.axhline(3000, color="grey", linewidth=1, linestyle=":", label="Slack's 3 s")
    for x, y in ((50, TARGETS["ack_p99_50"]), (100, TARGETS["ack_p99_100"])):
        ack_ax.plot([x], [y], marker="v", color="black", linestyle="none")
    ack_ax.plot([], [], marker="v", color="black", linestyle="none", label="p99 targets")
    targets = (
        (50, TARGETS["e2e_p50_50"]),
        (50, TARGETS["e2e_p99_50"]),
        (100, TARGETS["e2e_p99_100"]),
    )
    for x, y in targets:
        zoom_ax.plot([x], [y], marker="v", color="black", linestyle="none")
    zoom_ax.plot([], [], marker="v", color="black", linestyle="none", label="targets")
    zoom_ax.set_ylim(floor_ms * 0.95, max(floor_ms * 2, 450))
    titles = (
        (ack_ax, "ack latency", True),
        (e2e_ax, "end-to-end (command → reply at Slack)", True),
        (zoom_ax, "end-to-end, ours, close-up", False),
    )
    for ax, title, log_scale in titles:
        if log_scale:
            ax.set_yscale("log")
        ax.set_xlabel("offered rate (req/s, 5 ids each)")
        ax.set_ylabel("ms (log scale)" if log_scale else "ms")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    cfg = results["meta"]["config"]
    fig.suptitle(
        f"ekb-invoice-bot, {results['meta']['machine']['cpus']} CPUs, Ekuaibao "
        f"{cfg['ekuaibao_latency_ms']:g} ms/call, {cfg['workers']} workers × "
        f"{cfg['worker_concurrency']} threads"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# -- command line ---------------------------------------------------------------------------


def update_doc(table: str, out: Path) -> None:
    """Put this run's tables (without their title) between the markers of docs/benchmarks.md."""
    text = DOC.read_text(encoding="utf-8")
    if DOC_START not in text or DOC_END not in text:
        log(f"{DOC} has no results markers; not updated")
        return
    body = table.split("\n", 1)[1].strip().replace("\n## ", "\n### ")
    image = os.path.relpath(out / "latency.png", DOC.parent)
    head, rest = text.split(DOC_START, 1)
    tail = rest.split(DOC_END, 1)[1]
    section = f"{DOC_START}\n\n![latency vs rate]({image})\n\n{body}\n\n{DOC_END}"
    DOC.write_text(head + section + tail, encoding="utf-8")
    log(f"updated the results section of {DOC}")


def _rates(text: str) -> list[float]:
    rates = [float(x) for x in text.split(",") if x.strip()]
    if not rates or any(r <= 0 or r > 1000 for r in rates):
        raise argparse.ArgumentTypeError("rates are positive numbers ≤ 1000, comma-separated")
    return rates


def parse(argv: Sequence[str] | None) -> Config:
    p = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="2 rates × 5 s, short sweeps (~3 min)")
    p.add_argument("--rates", type=_rates, help="offered rates, req/s (default 10,25,50,100)")
    p.add_argument("--duration", type=float, help="seconds per rate (default 20; quick 5)")
    p.add_argument("--out", type=Path, default=REPO / "docs" / "bench-results")
    p.add_argument("--ekuaibao-latency-ms", type=float, default=200.0)
    p.add_argument(
        "--slack-latency-ms",
        type=float,
        default=50.0,
        help="added to every Slack answer after the post is recorded",
    )
    p.add_argument("--workers", type=int, default=3, help="`invoicebot worker` processes")
    p.add_argument("--worker-concurrency", type=int, default=16, help="threads per worker")
    p.add_argument("--bot-threads", type=int, default=16, help="waitress threads (both apps)")
    p.add_argument("--embedded-rates", type=_rates, help="default 10,25,50,75,100,125,150,200")
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--no-embedded", action="store_true")
    p.add_argument("--no-sizes", action="store_true")
    p.add_argument(
        "--priority",
        type=int,
        default=-10,
        help="nice value of the stand-ins and of the sending loop (0: no change)",
    )
    p.add_argument(
        "--only",
        help=f"comma-separated scenarios to run (default all): {', '.join(SCENARIOS)}",
    )
    p.add_argument(
        "--steady-rates", type=_rates, help="steady-one-worker rates (default 50,100,150)"
    )
    p.add_argument(
        "--steady-concurrency",
        type=int,
        help="steady-one-worker: its worker's threads (default: the worker's own default)",
    )
    p.add_argument(
        "--users",
        type=int,
        default=1,
        help=f"Slack users sending the load, round-robin (1: one person; at most {BENCH_USERS})",
    )
    p.add_argument("--peer-rates", type=_rates, help="peer: rates (default 50,100)")
    p.add_argument("--memory-lookups", type=int, help="memory: lookups (default 10000; quick 3000)")
    p.add_argument("--memory-rate", type=float, default=100.0, help="memory: req/s")
    p.add_argument("--keep", action="store_true", help="keep the logs folder")
    p.add_argument(
        "--update-doc",
        action="store_true",
        help=f"also replace the results section of {DOC.relative_to(REPO)} with this run's",
    )
    a = p.parse_args(argv)
    if a.duration is not None and not 1 <= a.duration <= 120:
        p.error("--duration must be between 1 and 120 s")
    quick = bool(a.quick)
    only = frozenset(x.strip() for x in (a.only or ",".join(SCENARIOS)).split(",") if x.strip())
    if not 1 <= a.users <= BENCH_USERS:
        p.error(f"--users must be between 1 and {BENCH_USERS}")
    if only - set(SCENARIOS):
        p.error(f"--only: unknown {', '.join(sorted(only - set(SCENARIOS)))}")
    return Config(
        rates=a.rates or ([10.0, 50.0] if quick else [10.0, 25.0, 50.0, 100.0]),
        duration=a.duration or (5.0 if quick else 20.0),
        out=a.out,
        quick=quick,
        ekuaibao_latency_ms=a.ekuaibao_latency_ms,
        slack_latency_ms=a.slack_latency_ms,
        workers=max(1, a.workers),
        worker_concurrency=a.worker_concurrency,
        bot_threads=a.bot_threads,
        embedded_rates=a.embedded_rates
        or ([50.0, 150.0] if quick else [10.0, 25.0, 50.0, 75.0, 100.0, 125.0, 150.0, 200.0]),
        embedded_duration=5.0 if quick else 10.0,
        sizes_rate=6.0,
        sizes_duration=5.0 if quick else 15.0,
        grace_s=30.0,
        run_baseline=not a.no_baseline,
        run_embedded=not a.no_embedded,
        run_sizes=not a.no_sizes,
        keep=bool(a.keep),
        update_doc=bool(a.update_doc),
        priority=a.priority,
        only=only,
        steady_rates=a.steady_rates or [50.0, 100.0, 150.0],
        steady_concurrency=a.steady_concurrency,
        users=a.users,
        peer_rates=a.peer_rates or [50.0, 100.0],
        memory_lookups=a.memory_lookups or (3000 if quick else 10_000),
        memory_rate=a.memory_rate,
    )


def main(argv: Sequence[str] | None = None) -> int:
    cfg = parse(argv)
    log(f"logs in {cfg.folder}")
    try:
        results = run(cfg)
    finally:
        if not cfg.keep:
            shutil.rmtree(cfg.folder, ignore_errors=True)
    cfg.out.mkdir(parents=True, exist_ok=True)
    (cfg.out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    table = markdown(results)
    (cfg.out / "results.md").write_text(table)
    plot(results, cfg.out / "latency.png")
    if cfg.update_doc:
        update_doc(table, cfg.out)
    print(table)
    log(f"wrote results.md, results.json, latency.png to {cfg.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
