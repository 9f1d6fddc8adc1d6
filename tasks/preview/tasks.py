"""The preview room's Celery task, a thin shell, and the sweep that deletes old previews."""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import signals
from pydantic import ValidationError

from tasks.celery_app import app
from tasks.contracts import PREVIEW_TASK, PreviewRequest
from tasks.preview.assembly import preview_deps
from tasks.preview.retention import start_sweeping
from tasks.preview.service import handle_preview

log = logging.getLogger(__name__)
_stop = threading.Event()


@app.task(name=PREVIEW_TASK, acks_late=True, ignore_result=True)
def preview_file(request: dict[str, Any]) -> None:
    """One Preview click. Not retried: the person clicks again, and every way it can fail
    is answered in the click's reply."""
    try:
        parsed = PreviewRequest.model_validate(request)
    except ValidationError:  # its text quotes the values: not for the log
        log.warning("ignored a preview request that is not one of ours")
        return
    deps = preview_deps()
    if deps is None:
        log.warning("a Preview click arrived, but PREVIEWS is not `all` here; ignored")
        return
    handle_preview(parsed, deps)


@signals.worker_ready.connect
def _sweep(**_: Any) -> None:
    """Each worker process looks after the uploaded previews' deletion."""
    start_sweeping(preview_deps, _stop)


@signals.worker_shutdown.connect
def _stop_sweeping(**_: Any) -> None:
    _stop.set()
