"""The Celery tasks of reviews: thin shells over `tasks.review.service`."""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import Task
from pydantic import ValidationError

from tasks import runtime
from tasks.celery_app import app
from tasks.contracts import REVIEW_ASK_TASK, REVIEW_EVENT_TASK, ReviewAsk, ReviewEvent
from tasks.ekuaibao.budget import waiting_as
from tasks.ekuaibao.errors import EkuaibaoError, Unavailable
from tasks.ekuaibao.review import ReviewApi
from tasks.review.asks import handle_ask
from tasks.review.deps import ReviewDeps
from tasks.review.home import publish_home
from tasks.review.service import handle_event
from tasks.review.store import make_cards
from tasks.settings import load_settings
from tasks.slack.client import slack_client
from tasks.state.dedup import make_dedup

log = logging.getLogger(__name__)
_lock = threading.Lock()
_deps: tuple[int, ReviewDeps] | None = None
#: Ekuaibao failing: an event is tried again after 5, 10, 20 and 40 s, then dropped (logged).
EVENT_RETRIES = 4


def review_deps() -> ReviewDeps:
    """Built once per process, over the lookup's own client, budget and thread pool."""
    global _deps
    lookup = runtime.deps()
    with _lock:
        if _deps is None or _deps[0] != id(lookup):
            settings = load_settings(require=("ekuaibao_app_key", "ekuaibao_app_security"))
            slack = slack_client(settings)
            if slack is None:
                raise RuntimeError("SLACK_BOT_TOKEN is required to send review cards")
            _deps = (
                id(lookup),
                ReviewDeps(
                    api=ReviewApi(lookup.client),
                    lookup=lookup,
                    slack=slack,
                    cards=make_cards(settings.redis_url, settings.state_dir),
                    dedup=make_dedup(settings.redis_url, settings.state_dir),
                    notify_submitters=settings.notify_submitters,
                ),
            )
            from tasks.review.decide_tasks import attach

            attach(_deps[1], settings)
        return _deps[1]


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
