"""The Celery task of decisions: a thin shell over `tasks.review.decide`.

Late acks: a worker killed mid-decision has its message delivered again, and the ledger
makes that second run confirm instead of sending again.
"""

from __future__ import annotations

import logging
import threading
from functools import partial
from typing import Any

from celery import Task

from tasks.celery_app import app
from tasks.contracts import DECIDE_TASK, Decision
from tasks.ekuaibao.budget import waiting_as
from tasks.ekuaibao.decide import DecideApi
from tasks.ekuaibao.errors import EkuaibaoError, Unavailable
from tasks.review.decide import decide
from tasks.review.decide_buttons import with_buttons
from tasks.review.decide_deps import DecideDeps, Wait
from tasks.review.decide_modal import prepare
from tasks.review.deps import ReviewDeps
from tasks.review.ledger import make_ledger
from tasks.settings import Settings

log = logging.getLogger(__name__)
_lock = threading.Lock()
_deps: tuple[int, DecideDeps] | None = None
#: Waiting for the tenant's slot and for Ekuaibao to confirm: up to about an hour.
MAX_WAITS = 120


def attach(review: ReviewDeps, settings: Settings) -> DecideDeps:
    """Built with the review deps: the cards get their buttons from here; charge powers are
    read now (start-up), then hourly."""
    global _deps
    with _lock:
        deps = DecideDeps(
            review=review,
            api=DecideApi(review.lookup.client),
            ledger=make_ledger(settings.redis_url, settings.state_dir),
            enabled=settings.approvals_in_slack,
            interval_s=settings.approvals_interval_s,
            key=settings.decision_key,
        )
        _deps = (id(review), deps)
    review.decorate = partial(with_buttons, deps)
    if deps.enabled and deps.key is None:
        log.warning(
            "deciding in Slack is on but no decision key is set (DECISION_SIGNING_KEY, "
            "SLACK_SIGNING_SECRET or SLACK_APP_TOKEN): every decision will be refused"
        )
    if deps.enabled:
        review.submit(deps.license)
    return deps


def decide_deps() -> DecideDeps:
    from tasks.review.tasks import review_deps

    review = review_deps()
    with _lock:
        assert _deps is not None and _deps[0] == id(review)
        return _deps[1]


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
