"""The Celery task: a thin shell that validates plain JSON and hands it to the service."""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Task, signals

from tasks import runtime
from tasks.celery_app import app
from tasks.contracts import LOOKUP_TASK, NOTICE_TASK, LookupRequest, Notice
from tasks.lookup.service import handle_lookup, handle_notice
from tasks.settings import load_settings

log = logging.getLogger(__name__)


@app.task(name=LOOKUP_TASK, bind=True, acks_late=True, ignore_result=True, max_retries=None)
def lookup_invoices(self: Task[Any, Any], request: dict[str, Any]) -> None:
    """Look invoices up and answer through the request's response_url."""
    lookup = LookupRequest.model_validate(request)
    delay = handle_lookup(lookup, runtime.deps(), attempt=self.request.retries)
    if delay is not None:
        raise self.retry(countdown=delay)


@app.task(name=NOTICE_TASK, acks_late=True, ignore_result=True)
def post_notice(notice: dict[str, Any]) -> None:
    """A one-line hint for a message that held nothing to look up."""
    handle_notice(Notice.model_validate(notice), runtime.deps())


@signals.worker_init.connect
def _check_settings(**_: Any) -> None:
    """`celery -A tasks worker` refuses to start without the Ekuaibao settings."""
    try:
        settings = load_settings(require=("ekuaibao_app_key", "ekuaibao_app_security"))
    except SystemExit as exc:  # load_settings already printed the one-line reason
        os._exit(exc.code if isinstance(exc.code, int) else 2)
    if one_host := settings.one_host_warning():
        log.warning("%s", one_host)


@signals.worker_process_init.connect
def _warm_up(**_: Any) -> None:
    """Build the HTTP clients before the first task, not during it."""
    runtime.deps()


@signals.worker_ready.connect
def _ready(**_: Any) -> None:
    """The main process: warm up (the threads pool runs tasks here) and say, once, what
    the access policy means."""
    runtime.log_startup_warnings()
