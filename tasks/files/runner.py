"""Render a hostile file in a child process that limits itself, and read its one answer.

The child is a fresh interpreter (`python -m tasks.files.child`), not a fork: the worker
has threads, so nothing runs between fork and exec (no `preexec_fn`); the child sets its
own limits first thing (`limits.confine`). It gets the file on stdin, a scrubbed
environment (no tokens or keys to leak should PDFium be subverted), its own session so
a kill reaches anything it started, and no stderr (what a parser prints about a hostile
file is the file's text). The parent bounds what it reads and how long it waits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from typing import IO

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


def child_environment() -> dict[str, str]:
    kept = {name: os.environ[name] for name in CHILD_ENVIRONMENT if name in os.environ}
    return {**kept, "PYTHONDONTWRITEBYTECODE": "1"}


def _run(argv: list[str], data: bytes) -> tuple[bytes | None, int, bool]:
    """(stdout, or None when it ran past MAX_REPLY_BYTES; exit code; killed at the deadline)."""
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and module, fixed arguments
        [sys.executable, "-m", "tasks.files.child", *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=child_environment(),
        start_new_session=True,
    )
    deadline = threading.Event()
    timer = threading.Timer(WALL_SECONDS, kill_child, (child, deadline))
    feeder = threading.Thread(target=_feed, args=(child, data), daemon=True)
    timer.start()
    feeder.start()
    try:
        assert child.stdout is not None
        out = _read(child.stdout, MAX_REPLY_BYTES)
        if out is None:
            kill_child(child)
        code = child.wait()
    finally:
        timer.cancel()
        if child.poll() is None:
            kill_child(child)
            child.wait()
        feeder.join()
        if child.stdout is not None:
            child.stdout.close()
    return out, code, deadline.is_set()


def kill_child(child: subprocess.Popen[bytes], flag: threading.Event | None = None) -> None:
    """SIGKILL to the child's session (its own pid is the group's), while it still runs."""
    if child.poll() is not None:
        return
    if flag is not None:
        flag.set()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)


def _feed(child: subprocess.Popen[bytes], data: bytes) -> None:
    """The file to the child's stdin; a child that stops reading (refused, killed) is fine."""
    assert child.stdin is not None
    with contextlib.suppress(OSError):  # BrokenPipeError among them
        child.stdin.write(data)
    with contextlib.suppress(OSError):
        child.stdin.close()


def _read(stream: IO[bytes], limit: int) -> bytes | None:
    """All of the stream until EOF, or None as soon as it passes `limit`."""
    chunks: list[bytes] = []
    size = 0
    while chunk := stream.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
