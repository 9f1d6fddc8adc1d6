"""The Celery task: a thin shell that validates plain JSON and hands it to the service."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from celery import Task, signals
from celery.exceptions import Reject

from tasks import heap, runtime
from tasks.celery_app import app
from tasks.contracts import LOOKUP_TASK, NOTICE_TASK, LookupRequest, Notice
from tasks.lookup.service import handle_lookup, handle_notice
from tasks.settings import load_settings

log = logging.getLogger(__name__)


#: Pauses between tries to publish a retry while the broker is away (a restart, a failover).
#: The message is still held (and its lease renewed) meanwhile, so waiting loses nothing.
REPUBLISH_PAUSES_S = (0.5, 1.0, 2.0, 4.0, 8.0)
#: When shared state (the reply ledger, the budget, the token) is away for a moment.
STATE_RETRY_S = 5.0


@app.task(name=LOOKUP_TASK, bind=True, acks_late=True, ignore_result=True, max_retries=None)
def lookup_invoices(self: Task[Any, Any], request: dict[str, Any]) -> None:
    """Look invoices up and answer through the request's response_url.

    No exception may end this task: Celery drops the message of a failed task (a reject
    without requeue, even with late acks) and of a retry it could not publish, and the
    person would never get an answer.
    """
    lookup = LookupRequest.model_validate(request)
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    try:
        delay = handle_lookup(
            lookup, runtime.deps(), attempt=self.request.retries, redelivered=redelivered
        )
    except Exception as exc:  # the service answers every lookup error; this is the state store
        log.warning(
            "lookup %s: shared state unavailable (%s); trying again in %.0f s",
            lookup.request_id,
            type(exc).__name__,
            STATE_RETRY_S,
        )
        if time.time() + STATE_RETRY_S > lookup.deadline:
            log.error("lookup %s: its response_url has expired; giving up", lookup.request_id)
            return
        delay = STATE_RETRY_S
    if delay is not None:
        retry_later(self, delay, lookup.request_id)


def retry_later(task: Task[Any, Any], countdown: float, request_id: str) -> None:
    """`task.retry`, tried again while the broker is away; if it stays away, the message
    goes back to the queue (or, when the broker cannot even take that, its lease lapses
    and the broker redelivers it after the visibility timeout)."""
    for pause in REPUBLISH_PAUSES_S:
        try:
            raise task.retry(countdown=countdown)
        except Reject as exc:  # Celery's wrapper for "the retry could not be published"
            log.warning(
                "lookup %s: could not publish its retry (%s); trying again in %.1f s",
                request_id,
                type(getattr(exc, "reason", exc)).__name__,  # not in the stubs
                pause,
            )
            time.sleep(pause)
    log.error("lookup %s: the broker is still away; leaving its message to redelivery", request_id)
    raise Reject("retry not published", requeue=True)


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
    heap.settle()


@signals.worker_ready.connect
def _ready(**_: Any) -> None:
    """The main process: warm up (the threads pool runs tasks here) and say, once, what
    the access policy means."""
    runtime.log_startup_warnings()
    heap.settle()
