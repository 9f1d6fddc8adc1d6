"""The Celery tasks of reviews: thin shells over `tasks.review.service`."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from pydantic import ValidationError

from tasks.celery_app import app
from tasks.contracts import REVIEW_ASK_TASK, REVIEW_EVENT_TASK, ReviewAsk, ReviewEvent
from tasks.ekuaibao.budget import waiting_as
from tasks.ekuaibao.errors import EkuaibaoError, Unavailable
from tasks.review.asks import handle_ask
from tasks.review.assembly import review_deps
from tasks.review.home import publish_home
from tasks.review.service import handle_event

log = logging.getLogger(__name__)
#: Ekuaibao failing: an event is tried again after 5, 10, 20 and 40 s, then dropped (logged).
EVENT_RETRIES = 4


@app.task(
    name=REVIEW_EVENT_TASK, bind=True, acks_late=True, ignore_result=True, max_retries=EVENT_RETRIES
)
def review_event(self: Task[Any, Any], event: dict[str, Any]) -> None:
    """One approval message from Ekuaibao."""
    try:
        parsed = ReviewEvent.model_validate(event)
    except ValidationError:  # its text quotes the values: not for the log
        log.warning("ignored an Ekuaibao event whose action or nodeId is malformed")
        return
    try:
        with waiting_as("ekuaibao events", "review"):
            handle_event(parsed, review_deps(), first_try=self.request.retries == 0)
    except Unavailable as exc:
        if self.request.retries >= EVENT_RETRIES:
            log.error("gave up on an Ekuaibao event after %d tries: %s", EVENT_RETRIES + 1, exc)
            return
        log.warning("Ekuaibao event: %s; trying again", exc)
        raise self.retry(countdown=5 * 2**self.request.retries) from None
    except EkuaibaoError as exc:
        log.error("Ekuaibao event not handled: %s", exc)


@app.task(name=REVIEW_ASK_TASK, acks_late=True, ignore_result=True)
def review_ask(ask: dict[str, Any]) -> None:
    """An approver's question or click."""
    parsed = ReviewAsk.model_validate(ask)
    try:
        with waiting_as(parsed.user_id, "review"):
            if parsed.kind == "home":
                publish_home(parsed, review_deps())
            else:
                handle_ask(parsed, review_deps())
    except EkuaibaoError as exc:
        log.error("review %s for %s not answered: %s", parsed.kind, parsed.user_id, exc)
        from tasks.review.asks import answer_ask
        from tasks.slack.review_texts import review_texts_for

        review = review_texts_for(parsed.language)
        text = review.unavailable.format(ref=parsed.kind)
        answer_ask(
            review_deps(),
            parsed,
            {
                "text": text,
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
            },
        )
