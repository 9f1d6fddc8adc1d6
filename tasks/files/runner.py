"""Render a hostile file in a child process that limits itself, and read its one answer.

The child is a fresh interpreter (`python -m tasks.files.child`) started by posix_spawn:
nothing of ours runs between spawn and exec (the worker has threads), and the worker is
not copied; the child sets its own limits first thing (`limits.confine`). It gets the
file on stdin, a scrubbed environment (no tokens or keys to leak should PDFium be
subverted), its own session so a kill reaches anything it started, and no stderr (what a
parser prints about a hostile file is the file's text). The parent bounds what it reads
and how long it waits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time

from tasks.files.limits import MAX_DOWNLOAD_BYTES, MAX_PAGES, WALL_SECONDS
from tasks.files.protocol import MAX_REPLY_BYTES, decode, rendered
from tasks.files.results import KINDS, Kind, PreviewFailed, Rendered

log = logging.getLogger(__name__)

#: What the child inherits of the environment: enough to find the interpreter's packages.
CHILD_ENVIRONMENT = ("PATH", "PYTHONPATH", "LANG", "LC_ALL", "TZ")
#: Deaths that mean "out of time": SIGXCPU at the CPU limit, SIGKILL at its hard limit or
#: from our own wall-clock kill.
_OUT_OF_TIME = frozenset({-signal.SIGXCPU, -signal.SIGKILL})
_CHUNK = 64 * 1024
#: How often the child's pipes are looked at while it works (a render takes ~200 ms).
POLL_S = 0.005


def render(data: bytes, kind: Kind, *, max_pages: int = MAX_PAGES) -> Rendered:
    """The first `max_pages` pages as PNGs (pdf, image) or the fields (xml, ofd).

    Raises PreviewFailed; an OSError only if no child could be started at all.
    """
    if kind not in KINDS:
        raise PreviewFailed("unsupported")
    if not 1 <= max_pages <= MAX_PAGES:
        raise ValueError(f"max_pages must be 1..{MAX_PAGES}")
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise PreviewFailed("too_big")
    with _renders:
        out, code, killed = _run([kind, str(max_pages)], data)
    if out is None:  # flooding the pipe: no answer of ours
        raise PreviewFailed("unreadable")
    if killed or code in _OUT_OF_TIME:
        raise PreviewFailed("too_slow")
    if code != 0:
        log.info("preview child exited with %s", code)
        raise PreviewFailed("unreadable")
    reply = decode(out, max_pages)
    if reply.error:
        log.warning("preview child: %s reading a %s file", reply.error[:80], kind)
    return rendered(reply)


#: Renders one worker process runs at once; the others wait their turn. Niced children
#: still weigh as much as the worker together in the kernel's scheduler: one at a time
#: per process (a process per core by default) keeps the lookups beside them on time.
RENDERS_AT_ONCE = 1
_renders = threading.BoundedSemaphore(RENDERS_AT_ONCE)


def child_environment() -> dict[str, str]:
    kept = {name: os.environ[name] for name in CHILD_ENVIRONMENT if name in os.environ}
    return {**kept, "PYTHONDONTWRITEBYTECODE": "1"}


def _run(argv: list[str], data: bytes) -> tuple[bytes | None, int, bool]:
    """(stdout, or None when it ran past MAX_REPLY_BYTES; exit code; killed at the deadline).

    `posix_spawn`, not `subprocess`: under green threads `subprocess` forks the whole worker
    (page tables and all: ~15 ms of a stalled process a render), while posix_spawn starts
    the child without copying it."""
    stdin_r, stdin_w = os.pipe()
    stdout_r, stdout_w = os.pipe()
    try:
        pid = os.posix_spawn(
            sys.executable,
            [sys.executable, "-m", "tasks.files.child", *argv],
            child_environment(),
            file_actions=[
                (os.POSIX_SPAWN_DUP2, stdin_r, 0),
                (os.POSIX_SPAWN_DUP2, stdout_w, 1),
                (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
            ],
            setsid=True,
        )
    except BaseException:
        for fd in (stdin_r, stdin_w, stdout_r, stdout_w):
            os.close(fd)
        raise
    os.close(stdin_r)
    os.close(stdout_w)
    try:
        out, killed = _exchange(pid, stdin_w, stdout_r, data)
    finally:
        os.close(stdout_r)
        if killed_or_running(pid):
            kill_child(pid)
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    return out, code, killed


def _exchange(pid: int, stdin_w: int, stdout_r: int, data: bytes) -> tuple[bytes | None, bool]:
    """The file to the child's stdin and its answer from stdout, within WALL_SECONDS.

    Non-blocking pipes polled every POLL_S: a wait that green threads make cooperative
    (`time.sleep`) and OS threads simply sleep through; gevent's `select` misses a pipe
    that becomes readable while it waits."""
    deadline = time.monotonic() + WALL_SECONDS
    os.set_blocking(stdin_w, False)
    os.set_blocking(stdout_r, False)
    sending: int | None = stdin_w
    sent, size = 0, 0
    chunks: list[bytes] = []
    view = memoryview(data)
    try:
        while True:
            if time.monotonic() > deadline:
                kill_child(pid)
                return b"".join(chunks), True
            moved = False
            if sending is not None:
                try:
                    sent += os.write(sending, view[sent : sent + _CHUNK])
                    moved = True
                except BlockingIOError:
                    pass
                except OSError:  # the child stopped reading (refused, killed): fine
                    sent = len(data)
                if sent >= len(data):
                    os.close(sending)
                    sending = None
            try:
                chunk = os.read(stdout_r, _CHUNK)
            except BlockingIOError:
                chunk = None
            if chunk == b"":
                return b"".join(chunks), False
            if chunk:
                moved = True
                size += len(chunk)
                if size > MAX_REPLY_BYTES:  # flooding the pipe: no answer of ours
                    kill_child(pid)
                    return None, False
                chunks.append(chunk)
            if not moved:
                time.sleep(POLL_S)
    finally:
        if sending is not None:
            os.close(sending)


def killed_or_running(pid: int) -> bool:
    """Whether the child has not exited yet (without reaping it)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None
    except ChildProcessError:
        return False


def kill_child(pid: int) -> None:
    """SIGKILL to the child's session (its own pid is the group's)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
