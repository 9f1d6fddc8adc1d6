"""Handing a lookup to the workers: one broker publish, plain JSON."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from celery import Celery

from tasks.celery_app import BULK_QUEUE, PUBLISH_STEP_S, QUEUE
from tasks.contracts import (
    DECIDE_TASK,
    LOOKUP_TASK,
    NOTICE_TASK,
    PREVIEW_TASK,
    REVIEW_ASK_TASK,
    REVIEW_EVENT_TASK,
    SLACK_RESPONSE_URL_PREFIXES,
    Decision,
    LookupRequest,
    Notice,
    PreviewRequest,
    ReviewAsk,
    ReviewEvent,
    response_url_allowed,
    safe_argsrepr,
    safe_kwargsrepr,
)
from tasks.redact import redact

log = logging.getLogger(__name__)

#: How long a command's publish may keep trying a broker that refuses (restarting):
#: the ack must still leave in Slack's 3 s.
PUBLISH_BUDGET_S = 2.0
RETRY_PAUSE_S = 0.1

Queued = LookupRequest | Notice | ReviewEvent | ReviewAsk | Decision | PreviewRequest
Enqueue = Callable[[Queued], None]


class EnqueueFailed(Exception):
    """The broker would not take the task; the user must be told at once."""


def celery_enqueue(
    celery: Celery,
    decision_key: bytes | None = None,
    response_url_prefixes: tuple[str, ...] = SLACK_RESPONSE_URL_PREFIXES,
) -> Enqueue:
    """Publishes one message; decisions leave signed with `decision_key`. A response_url
    not under `response_url_prefixes` is refused here, and again by the worker right
    before it would POST."""

    def enqueue(request: Queued) -> None:
        _check_response_url(request, response_url_prefixes)
        # Only ids reach the message's headers: `tasks.celery_app` rewrites them on publish.
        if isinstance(request, Notice):
            name, request_id = NOTICE_TASK, "notice"
        elif isinstance(request, ReviewEvent):
            name, request_id = REVIEW_EVENT_TASK, "ekuaibao event"
        elif isinstance(request, Decision):
            request = request.signed(decision_key)
            name, request_id = DECIDE_TASK, f"decision {request.step} {request.what}"
        elif isinstance(request, ReviewAsk):
            name, request_id = REVIEW_ASK_TASK, f"review {request.kind}"
        elif isinstance(request, PreviewRequest):
            name, request_id = PREVIEW_TASK, f"preview {request.request_id}"
        else:
            name, request_id = LOOKUP_TASK, request.request_id
        bulk = isinstance(request, LookupRequest) and request.by_message
        deadline = time.monotonic() + PUBLISH_BUDGET_S
        args = [request.model_dump(mode="json")]
        while True:
            try:
                celery.send_task(
                    name,
                    args=args,
                    # Only ids, as `tasks.celery_app` would rewrite them; given here, Celery
                    # skips its own repr of the arguments (~0.1 ms a command, then discarded).
                    argsrepr=safe_argsrepr(name, args),
                    kwargsrepr=safe_kwargsrepr({}),
                    queue=BULK_QUEUE if bulk else QUEUE,
                    retry=True,
                    confirm_timeout=PUBLISH_STEP_S,  # AMQP: the broker has it, or we say so
                )
                return
            except Exception as exc:
                # A refusal is quick and often a broker restarting: try again while the
                # ack can still wait. A timeout means a hung broker: another try would
                # only stack another timeout onto the person's wait.
                if not timed_out(exc) and time.monotonic() + RETRY_PAUSE_S < deadline:
                    time.sleep(RETRY_PAUSE_S)
                    continue
                log.error(
                    "could not queue lookup %s: %s: %s",
                    request_id,
                    type(exc).__name__,
                    redact(str(exc))[:200],
                )
                raise EnqueueFailed(request_id) from None

    return enqueue


def _check_response_url(request: Queued, prefixes: tuple[str, ...]) -> None:
    response_url = getattr(request, "response_url", "")
    if response_url and not response_url_allowed(response_url, prefixes):
        log.error(
            "refused to queue a %s whose response_url is not under "
            "SLACK_RESPONSE_URL_PREFIXES (GovSlack: https://hooks.slack-gov.com/)",
            type(request).__name__,
        )
        raise EnqueueFailed("untrusted response_url")


def timed_out(exc: BaseException | None) -> bool:
    """Anywhere in the chain: kombu wraps the socket's or redis-py's timeout in its own."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__:
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def warm_up(celery: Celery) -> bool:
    """Open the producer's broker connection now so the first command doesn't pay for it."""
    try:
        with celery.producer_or_acquire() as producer:
            producer.connection.ensure_connection(max_retries=1)
        return True
    except Exception as exc:
        log.warning("the broker is not reachable yet: %s", redact(str(exc))[:200])
        return False
