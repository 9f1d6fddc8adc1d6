"""The Celery tasks of the review room: thin shells over its use cases.

Decisions are acked late: a worker killed mid-decision has its message delivered again,
and the decision ledger makes that second run confirm instead of sending again.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from pydantic import ValidationError

from tasks.celery_app import app
from tasks.contracts import (
    DECIDE_TASK,
    REVIEW_ASK_TASK,
    REVIEW_EVENT_TASK,
    Decision,
    ReviewAsk,
    ReviewEvent,
)
from tasks.ekuaibao.budget import waiting_as
from tasks.ekuaibao.errors import EkuaibaoError, Unavailable
from tasks.review.assembly import decide_deps, review_deps
from tasks.review.cards.service import handle_event
from tasks.review.decide.deps import Wait
from tasks.review.decide.modal import prepare
from tasks.review.decide.service import decide
from tasks.review.queue.asks import handle_ask
from tasks.review.queue.home import publish_home

log = logging.getLogger(__name__)
#: Ekuaibao failing: an event is tried again after 5, 10, 20 and 40 s, then dropped (logged).
EVENT_RETRIES = 4
#: Waiting for the tenant's slot and for Ekuaibao to confirm: up to about an hour.
MAX_WAITS = 120


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
        from tasks.review.queue.asks import answer_ask
        from tasks.shared.review_texts import review_texts_for

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


@app.task(name=DECIDE_TASK, bind=True, acks_late=True, ignore_result=True, max_retries=MAX_WAITS)
def decide_task(self: Task[Any, Any], decision: dict[str, Any]) -> None:
    parsed = Decision.model_validate(decision)
    deps = decide_deps()
    try:
        with waiting_as(parsed.user_id, "decision"):  # first in the budget's line
            if parsed.step == "prepare":
                prepare(parsed, deps)
            else:
                decide(parsed, deps)
    except Wait as wait:
        if self.request.retries >= MAX_WAITS:
            log.error("gave up waiting on decision %s", parsed.decision_id)
            return
        raise self.retry(countdown=max(wait.seconds, 0.5)) from None
    except Unavailable as exc:
        if parsed.step == "prepare" or self.request.retries >= MAX_WAITS:
            log.error("decision %s %s not handled: %s", parsed.step, parsed.what, exc)
            return
        log.warning("decision %s: %s; trying again", parsed.what, exc)
        raise self.retry(countdown=5) from None
    except EkuaibaoError as exc:
        log.error("decision %s %s not handled: %s", parsed.step, parsed.what, exc)
