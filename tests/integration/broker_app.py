"""Tiny Celery app for the embedded-broker integration tests (run as a worker subprocess).

Configured by environment: ``BROKER_APP_DB`` (SQLite file), ``BROKER_APP_LOG`` (file the
tasks append to), optional ``BROKER_APP_READY`` (touched when the worker is ready) and
``BROKER_APP_REMOTE_CONTROL`` ("0" disables remote control).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from celery import Celery, Task
from celery.signals import worker_ready

from tasks.broker.embedded import embedded_url, register

register()

app = Celery("broker_app", broker=embedded_url(Path(os.environ["BROKER_APP_DB"])))
app.conf.update(
    task_ignore_result=True,
    worker_hijack_root_logger=False,
    worker_enable_remote_control=os.environ.get("BROKER_APP_REMOTE_CONTROL", "1") != "0",
    broker_connection_retry_on_startup=True,
)


def _record(*fields: object) -> None:
    """Append one line; O_APPEND writes this small are atomic across processes/threads."""
    line = " ".join(str(f) for f in fields) + "\n"
    fd = os.open(os.environ["BROKER_APP_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


@app.task(name="t.record", bind=True)
def record(self: Task[Any, Any], tag: str) -> None:
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    _record("run", tag, os.getpid(), redelivered)


@app.task(name="t.slow", bind=True, acks_late=True)
def slow(self: Task[Any, Any], tag: str, seconds: float) -> None:
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    _record("start", tag, os.getpid(), redelivered)
    time.sleep(seconds)
    _record("done", tag, os.getpid(), redelivered)


@worker_ready.connect
def _mark_ready(**_: Any) -> None:
    ready = os.environ.get("BROKER_APP_READY")
    if ready:
        Path(ready).write_text(str(os.getpid()))
