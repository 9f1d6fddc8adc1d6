"""`invoicebot worker`: one supervised Celery process per usable core.

A Celery process holds one GIL, so it uses at most one core however many green or OS
threads it runs; a lookup's CPU (parsing, rendering, TLS) is what tops one process out
(docs/benchmarks.md). Each process is a fresh `python -m celery` exec, not a fork, so
nothing is shared between them but what is meant to be: the broker and the shared state
(Redis, or SQLite files made for several processes of one host), the Ekuaibao budget and
token among them.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time

from bot.supervise import CELERY_STOP_S, Supervised, broker_refusal, wait_for_broker
from tasks.broker.check import where
from tasks.redact import configure_logging
from tasks.settings import EKUAIBAO, Settings, fail, load_settings
from tasks.settings.cores import WORKER_PROCESS_ENV

log = logging.getLogger("invoicebot")

#: What one unit of WORKER_CONCURRENCY is, per pool: (one, several).
POOL_UNITS = {
    "gevent": ("green thread", "green threads"),
    "threads": ("thread", "threads"),
    "prefork": ("pool process", "pool processes"),
}


def celery_argv(settings: Settings, queues: str, n: int, python: str = sys.executable) -> list[str]:
    """The command of the `n`-th Celery process (from 1); its hostname, unique per process
    and per `invoicebot worker`, keeps Celery's node names apart."""
    return [
        python,
        "-m",
        "celery",
        "-A",
        "tasks",
        "worker",
        "--pool",
        settings.pool,
        "--concurrency",
        str(settings.concurrency),
        "--queues",
        queues,
        "--hostname",
        f"invoicebot-{os.getpid()}-{n}@%h",
        "--loglevel",
        settings.log_level,
        "--without-gossip",
        "--without-mingle",
    ]


def child_env(n: int, total: int, environ: dict[str, str] | None = None) -> dict[str, str]:
    """Our environment, plus which process this is: the access warnings are said by the
    first only, and each says its memory once ready (tasks/runtime.py)."""
    env = dict(os.environ if environ is None else environ)
    env[WORKER_PROCESS_ENV] = f"{n}/{total}"
    return env


def startup_line(settings: Settings, queues: str) -> str:
    """What this worker runs, said once: WORKER_CONCURRENCY is per process."""
    processes, concurrency = settings.processes, settings.concurrency
    one, several = POOL_UNITS[settings.pool]
    return (
        f"worker: {processes} process{'es' if processes != 1 else ''} × "
        f"{concurrency} {one if concurrency == 1 else several} ({settings.pool}) per process, "
        f"queues {queues}, broker {where(settings.broker_url)}"
    )


def run_worker() -> int:
    settings = load_settings(require=EKUAIBAO)
    configure_logging(settings.log_level)
    from tasks.celery_app import BULK_QUEUE, QUEUE

    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopped.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stopped.set())
    if not wait_for_broker(settings.broker_url, stopped):
        return 0

    gave_up: list[str] = []

    def give_up(code: int, reason: str) -> None:
        gave_up.append(reason)
        stopped.set()

    queues = f"{QUEUE},{BULK_QUEUE}"
    total = settings.processes
    log.info("%s", startup_line(settings, queues))
    # Each Celery runs in a supervised child: kombu can die on a broker restart
    # ("Unrecoverable error"), and a lookup queue without a consumer helps nobody.
    children = [
        Supervised(
            celery_argv(settings, queues, n),
            f"celery worker {n}/{total}" if total > 1 else "celery worker",
            permanent=broker_refusal(settings.broker_url),
            on_give_up=give_up,
            stop_timeout=CELERY_STOP_S,
            env=child_env(n, total),
        )
        for n in range(1, total + 1)
    ]
    for child in children:
        child.start()
    stopped.wait()
    stop_all(children, CELERY_STOP_S)
    if gave_up:
        fail(gave_up[0])
    return 0


def stop_all(children: list[Supervised], bound: float) -> None:
    """SIGTERM to every child at once, then wait for all within one shared bound: N
    processes stop in the time one takes, inside the service manager's stop timeout."""
    for child in children:
        child.begin_stop()
    deadline = time.monotonic() + bound
    for child in children:
        child.stop(timeout=deadline - time.monotonic())
