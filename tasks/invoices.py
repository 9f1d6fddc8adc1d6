"""The Celery task: a thin shell that validates plain JSON and hands it to the service."""

from __future__ import annotations

from typing import Any

from celery import Task, signals

from tasks import runtime
from tasks.celery_app import app
from tasks.contracts import LOOKUP_TASK, LookupRequest
from tasks.service import handle_lookup


@app.task(name=LOOKUP_TASK, bind=True, acks_late=True, ignore_result=True, max_retries=None)
def lookup_invoices(self: Task[Any, Any], request: dict[str, Any]) -> None:
    """Look invoices up and answer through the request's response_url."""
    lookup = LookupRequest.model_validate(request)
    delay = handle_lookup(lookup, runtime.deps(), attempt=self.request.retries)
    if delay is not None:
        raise self.retry(countdown=delay)


@signals.worker_process_init.connect
@signals.worker_ready.connect
def _warm_up(**_: Any) -> None:
    """Build the HTTP clients before the first task, not during it."""
    runtime.deps()
