"""Child processes we keep alive: the worker child of `serve`, and Celery under `worker`."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time

from tasks.redact import configure_logging
from tasks.settings import EKUAIBAO, load_settings

log = logging.getLogger("invoicebot")


class Supervised:
    """A child process restarted if it dies, and stopped (SIGTERM, then SIGKILL) with us."""

    def __init__(self, args: list[str], name: str) -> None:
        self._args = args
        self._name = name
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name=name, daemon=True)

    def start(self) -> None:
        self._spawn()
        self._watcher.start()

    def _spawn(self) -> None:
        # our own argv (sys.executable and fixed arguments), never user input
        self._proc = subprocess.Popen(self._args, preexec_fn=_die_with_parent)  # noqa: S603

    def _watch(self) -> None:
        while not self._stopping.is_set():
            assert self._proc is not None
            code = self._proc.wait()
            if self._stopping.is_set():
                return
            log.error("the %s exited with status %s; restarting it in 1 s", self._name, code)
            time.sleep(1)
            if not self._stopping.is_set():
                self._spawn()

    def stop(self) -> None:
        self._stopping.set()
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()


def WorkerChild() -> Supervised:
    """`invoicebot worker` as a child of `invoicebot serve`."""
    return Supervised([sys.executable, "-m", "bot.cli", "worker"], "worker child")


def _die_with_parent() -> None:
    """Linux: the worker gets SIGTERM if the bot dies, so no orphan keeps consuming tasks."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def run_worker() -> int:
    settings = load_settings(require=EKUAIBAO)
    configure_logging(settings.log_level)
    from tasks.celery_app import QUEUE

    concurrency = settings.worker_concurrency
    if settings.worker_pool == "prefork" and "worker_concurrency" not in settings.model_fields_set:
        concurrency = os.cpu_count() or 2  # the default 64 is threads, not processes
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "tasks",
        "worker",
        "--pool",
        settings.worker_pool,
        "--concurrency",
        str(concurrency),
        "--queues",
        QUEUE,
        "--hostname",
        f"invoicebot-{os.getpid()}@%h",
        "--loglevel",
        settings.log_level,
        "--without-gossip",
        "--without-mingle",
    ]
    # Celery runs in a supervised child: kombu can die on a broker restart
    # ("Unrecoverable error"), and a lookup queue without a consumer helps nobody.
    child = Supervised(argv, "celery worker")
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopped.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stopped.set())
    child.start()
    stopped.wait()
    child.stop()
    return 0
