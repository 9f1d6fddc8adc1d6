"""Child processes we keep alive: the worker child of `serve`, and the Celery processes of
`worker` (bot/worker.py)."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from tasks.broker.check import broker_check, describe
from tasks.settings import fail

log = logging.getLogger("invoicebot")

#: `fail()`'s status: a bad setting, which no restart will fix.
EXIT_SETTINGS = 2
#: Celery's warm shutdown finishes the lookups it runs; one lookup's calls are bounded
#: (EKUAIBAO_TIMEOUT_S per call), and a lookup killed after this is redelivered anyway.
CELERY_STOP_S = 25.0
#: `serve` waits for its `invoicebot worker` child a little longer than that child waits
#: for Celery, so the inner bound decides.
WORKER_CHILD_STOP_S = CELERY_STOP_S + 5.0
#: How long each broker check at worker start may take.
BROKER_CHECK_S = 3.0


class Backoff:
    """1, 2, 4 … 60 s between restarts; back to the first delay once a child stayed up.

    A child that dies at once, again and again (a broker refusing us, a crash at import),
    must not be restarted several times a second forever.
    """

    def __init__(self, first: float = 1.0, cap: float = 60.0, settle: float = 60.0) -> None:
        self.first, self.cap, self.settle = first, cap, settle
        self._next = first

    def after(self, uptime: float) -> float:
        """The delay before the next start, given how long the last run lasted."""
        if uptime >= self.settle:
            self._next = self.first
        delay = self._next
        self._next = min(self._next * 2, self.cap)
        return delay


def settings_error(code: int) -> str | None:
    """Exit status 2 is our bad-settings contract: the child already said which one."""
    if code == EXIT_SETTINGS:
        return "it refused its settings (see the line above)"
    return None


class Supervised:
    """A child process restarted with backoff if it dies, and stopped (SIGTERM, then
    SIGKILL) with us. `permanent` tells, from an exit status, that a restart cannot help;
    then the child stays down and `on_give_up` gets the status and the reason (or, without
    it, the log does)."""

    def __init__(
        self,
        args: list[str],
        name: str,
        *,
        permanent: Callable[[int], str | None] = settings_error,
        on_give_up: Callable[[int, str], None] | None = None,
        backoff: Backoff | None = None,
        stop_timeout: float = 15.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self._args = args
        self._env = env
        self._name = name
        self._permanent = permanent
        self._on_give_up = on_give_up
        self._backoff = backoff or Backoff()
        self._stop_timeout = stop_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._signalled: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name=name, daemon=True)

    def start(self) -> None:
        self._spawn()
        self._watcher.start()

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            # our own argv (sys.executable and fixed arguments), never user input
            self._proc = subprocess.Popen(  # noqa: S603
                self._args, env=self._env, preexec_fn=_die_with_parent
            )

    def _watch(self) -> None:
        while not self._stopping.is_set():
            assert self._proc is not None
            started = time.monotonic()
            code = self._proc.wait()
            if self._stopping.is_set():
                return
            reason = self._permanent(code)
            if reason is not None:
                if self._on_give_up:
                    self._on_give_up(code, reason)
                else:
                    log.error("the %s exited with status %s: %s", self._name, code, reason)
                return
            delay = self._backoff.after(time.monotonic() - started)
            log.error(
                "the %s exited with status %s; restarting it in %g s", self._name, code, delay
            )
            if not self._stopping.wait(delay):
                self._spawn()

    def begin_stop(self) -> None:
        """SIGTERM without waiting, so several children stop side by side, not in turn."""
        with self._lock:
            self._stopping.set()
            proc = self._proc
        if proc is not None and proc.poll() is None and self._signalled is not proc:
            self._signalled = proc  # once: a second SIGTERM must not cut a warm shutdown
            proc.terminate()

    def stop(self, timeout: float | None = None) -> int | None:
        """Stop the child and return its exit status (None if it was not running); after
        `timeout` s (default: this child's stop bound) it is killed."""
        self.begin_stop()
        proc = self._proc
        if proc is None:
            return None
        limit = self._stop_timeout if timeout is None else max(0.0, timeout)
        try:
            proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            log.error("the %s did not stop within %g s; killing it", self._name, limit)
            proc.kill()
        return proc.wait()


def WorkerChild(on_give_up: Callable[[int, str], None] | None = None) -> Supervised:
    """`invoicebot worker` as a child of `invoicebot serve`."""
    return Supervised(
        [sys.executable, "-m", "bot.cli", "worker"],
        "worker child",
        on_give_up=on_give_up,
        stop_timeout=WORKER_CHILD_STOP_S,
    )


def _die_with_parent() -> None:
    """Linux: the worker gets SIGTERM if the bot dies, so no orphan keeps consuming tasks."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def wait_for_broker(url: str, stopped: threading.Event, backoff: Backoff | None = None) -> bool:
    """Until the broker answers: True then, False if we were stopped meanwhile. A broker
    that refuses us is a bad setting: one line and exit status 2."""
    backoff = backoff or Backoff()
    while True:
        check = broker_check(url, BROKER_CHECK_S)
        if check.ok:
            return True
        if check.verdict == "refused":
            fail(describe(check, url))
        delay = backoff.after(0.0)
        log.warning("%s; trying again in %g s", describe(check, url), delay)
        if stopped.wait(delay):
            return False


def broker_refusal(url: str) -> Callable[[int], str | None]:
    """Celery exits at once when the broker refuses it (RabbitMQ after a password change:
    "Unrecoverable error"); restarting it would only repeat that, so that exit is final."""

    def permanent(code: int) -> str | None:
        check = broker_check(url, BROKER_CHECK_S)
        if check.verdict == "refused":
            return describe(check, url)
        return settings_error(code)

    return permanent
