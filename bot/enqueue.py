"""Handing a lookup to the workers: one broker publish, plain JSON, no secrets in reprs."""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery import Celery

from tasks.celery_app import PUBLISH_STEP_S
from tasks.contracts import LOOKUP_TASK, NOTICE_TASK, LookupRequest, Notice
from tasks.redact import redact

log = logging.getLogger(__name__)

Enqueue = Callable[[LookupRequest | Notice], None]


class EnqueueFailed(Exception):
    """The broker would not take the task; the user must be told at once."""


def celery_enqueue(celery: Celery) -> Enqueue:
    def enqueue(request: LookupRequest | Notice) -> None:
        if isinstance(request, Notice):
            name, summary, request_id = NOTICE_TASK, f"(notice {request.text_key})", "notice"
        else:
            name, request_id = LOOKUP_TASK, request.request_id
            summary = (
                f"(lookup {request.request_id}, {len(request.ids)} ids, report {request.report!r})"
            )
        try:
            celery.send_task(
                name,
                args=[request.model_dump(mode="json")],
                # Monitoring tools show these instead of the args (which hold the response_url).
                argsrepr=summary,
                kwargsrepr="{}",
                retry=True,
                confirm_timeout=PUBLISH_STEP_S,  # AMQP: the broker has it, or we say so
            )
        except Exception as exc:
            log.error(
                "could not queue lookup %s: %s: %s",
                request_id,
                type(exc).__name__,
                redact(str(exc))[:200],
            )
            raise EnqueueFailed(request_id) from None

    return enqueue


def warm_up(celery: Celery) -> bool:
    """Open the producer's broker connection now so the first command doesn't pay for it."""
    try:
        with celery.producer_or_acquire() as producer:
            producer.connection.ensure_connection(max_retries=1)
        return True
    except Exception as exc:
        log.warning("the broker is not reachable yet: %s", redact(str(exc))[:200])
        return False
