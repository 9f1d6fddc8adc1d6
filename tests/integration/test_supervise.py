"""Restarts back off and stop for good on a permanent error; the worker's children stop side
by side within one bound. Real child processes."""

from __future__ import annotations

import itertools
import logging
import sys
import threading
import time
from pathlib import Path

from bot.supervise import Backoff, Supervised, settings_error, wait_for_broker
from bot.worker import stop_all
from tasks.broker.check import BrokerCheck, describe, where


def test_backoff_doubles_to_a_cap_and_resets_after_a_long_run() -> None:
    backoff = Backoff(first=1, cap=60, settle=60)
    assert [backoff.after(0.1) for _ in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff.after(61) == 1  # it stayed up: a new, unrelated failure
    assert backoff.after(0.1) == 2


def child(tmp_path: Path, code: int, lifetime: float = 0.0) -> list[str]:
    """A real process that records each start, lives a moment and exits with `code`."""
    script = (
        "import sys, time; open(sys.argv[1], 'a').write(f'{time.monotonic()}\\n'); "
        f"time.sleep({lifetime}); sys.exit({code})"
    )
    return [sys.executable, "-c", script, str(tmp_path / "starts")]


def starts(tmp_path: Path) -> list[float]:
    path = tmp_path / "starts"
    return [float(line) for line in path.read_text().split()] if path.exists() else []


def wait_for_starts(tmp_path: Path, n: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while len(starts(tmp_path)) < n:
        assert time.monotonic() < deadline, f"{len(starts(tmp_path))} of {n} starts"
        time.sleep(0.01)


def test_a_crashing_child_is_restarted_with_growing_delays(tmp_path: Path) -> None:
    supervised = Supervised(
        child(tmp_path, 1), "test child", backoff=Backoff(first=0.2, cap=0.8, settle=30)
    )
    supervised.start()
    wait_for_starts(tmp_path, 4)
    supervised.stop()
    times = starts(tmp_path)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # delays 0.2, 0.4, 0.8, 0.8 … plus the child's own start-up, which on a busy machine
    # varies by more than the steps between delays: each gap is at least its delay
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4, gaps
    assert all(gap >= 0.75 for gap in gaps[2:]), gaps


def test_a_settings_error_is_not_restarted(tmp_path: Path) -> None:
    given_up = threading.Event()
    seen: list[tuple[int, str]] = []

    def on_give_up(code: int, reason: str) -> None:
        seen.append((code, reason))
        given_up.set()

    supervised = Supervised(
        child(tmp_path, 2), "test child", on_give_up=on_give_up, backoff=Backoff(first=0.1)
    )
    supervised.start()
    assert given_up.wait(10)
    assert supervised.stop() == 2  # its thread is done: nothing can start it again
    assert len(starts(tmp_path)) == 1
    assert seen == [(2, "it refused its settings (see the line above)")]


def test_permanent_is_asked_about_each_exit(tmp_path: Path) -> None:
    codes: list[int] = []

    def third_time_final(code: int) -> str | None:
        codes.append(code)
        return "final" if len(codes) == 3 else None

    done = threading.Event()
    supervised = Supervised(
        child(tmp_path, 1),
        "test child",
        permanent=third_time_final,
        on_give_up=lambda code, reason: done.set(),
        backoff=Backoff(first=0.05, cap=0.05),
    )
    supervised.start()
    assert done.wait(10)
    assert codes == [1, 1, 1] and len(starts(tmp_path)) == 3
    assert settings_error(1) is None


def test_stop_terminates_a_running_child_and_reports_its_status(tmp_path: Path) -> None:
    supervised = Supervised(child(tmp_path, 0, lifetime=30), "test child")
    supervised.start()
    wait_for_starts(tmp_path, 1)
    started = time.monotonic()
    assert supervised.stop() == -15  # SIGTERM
    assert time.monotonic() - started < 5
    assert len(starts(tmp_path)) == 1  # not restarted after we stopped it


def test_broker_lines_never_show_credentials() -> None:
    url = "amqp://invoicebot:s3cret-pass@rabbit.internal:5672/prod"
    refused = describe(BrokerCheck("refused", "ACCESS_REFUSED", credentials=True), url)
    assert refused == (
        "the broker at amqp://rabbit.internal:5672/prod refused the credentials in "
        "CELERY_BROKER_URL (ACCESS_REFUSED): fix the user name or password"
    )
    down = describe(BrokerCheck("unreachable", "connection refused"), "redis://:pw@r:6390/0")
    assert down == (
        "the broker at redis://r:6390/0 is not answering (connection refused): start it, "
        "or check CELERY_BROKER_URL"
    )
    assert "s3cret" not in refused and "pw" not in down
    assert where("embedded:///var/lib/invoicebot/broker.sqlite3") == (
        "embedded (/var/lib/invoicebot/broker.sqlite3)"
    )


def slow_to_stop(tmp_path: Path, name: str, after_sigterm: str) -> list[str]:
    """A child that says it is ready, then on SIGTERM runs `after_sigterm` (its "warm
    shutdown")."""
    script = (
        "import signal, sys, time, pathlib\n"
        f"signal.signal(signal.SIGTERM, lambda *a: ({after_sigterm}))\n"
        "pathlib.Path(sys.argv[1]).write_text('up')\n"
        "while True: time.sleep(0.05)\n"
    )
    return [sys.executable, "-c", script, str(tmp_path / name)]


def started(tmp_path: Path, children: list[Supervised], names: list[str]) -> None:
    for child in children:
        child.start()
    deadline = time.monotonic() + 30
    while not all((tmp_path / name).exists() for name in names):
        assert time.monotonic() < deadline, "the children never came up"
        time.sleep(0.02)


def test_children_stop_side_by_side_not_in_turn(tmp_path: Path) -> None:
    names = ["a", "b", "c"]
    children = [
        Supervised(slow_to_stop(tmp_path, name, "time.sleep(1.5), sys.exit(0)"), name)
        for name in names
    ]
    started(tmp_path, children, names)
    begun = time.monotonic()
    stop_all(children, bound=20)
    took = time.monotonic() - begun
    assert [child.stop() for child in children] == [0, 0, 0]  # each finished its own way
    assert 1.4 < took < 3.0, took  # one warm shutdown's time, not three (4.5 s)


def test_children_past_the_shared_bound_are_killed(tmp_path: Path) -> None:
    names = ["a", "b"]
    children = [Supervised(slow_to_stop(tmp_path, name, "None"), name) for name in names]
    started(tmp_path, children, names)
    begun = time.monotonic()
    stop_all(children, bound=1.0)
    took = time.monotonic() - begun
    assert [child.stop() for child in children] == [-9, -9]  # SIGKILL
    assert took < 1.9, took  # one bound for all, not 1 s each


def test_waiting_for_a_broker_that_is_not_up_yet_tries_again_until_stopped() -> None:
    """Nothing listens on 127.0.0.1:1: each try says so and waits; stopping ends the wait."""
    stopped = threading.Event()
    tries: list[str] = []

    class Second(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            tries.append(record.getMessage())
            if len(tries) == 2:
                stopped.set()

    handler = Second(logging.WARNING)
    logger = logging.getLogger("invoicebot")  # what bot.supervise writes to
    logger.addHandler(handler)
    guard = threading.Timer(30, stopped.set)  # a test that cannot hang
    guard.start()
    try:
        backoff = Backoff(first=0.05, cap=0.05)
        assert wait_for_broker("redis://127.0.0.1:1/0", stopped, backoff) is False
    finally:
        guard.cancel()
        logger.removeHandler(handler)
    assert len(tries) == 2 and all("trying again in 0.05 s" in t for t in tries), tries
