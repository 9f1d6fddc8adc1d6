"""The Celery task of decisions: a thin shell over `tasks.review.decide`.

Late acks: a worker killed mid-decision has its message delivered again, and the ledger
makes that second run confirm instead of sending again.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task

from tasks.celery_app import app
from tasks.contracts import DECIDE_TASK, Decision
from tasks.ekuaibao.budget import waiting_as
from tasks.ekuaibao.errors import EkuaibaoError, Unavailable
from tasks.review.assembly import decide_deps
from tasks.review.decide import decide
from tasks.review.decide_deps import Wait
from tasks.review.decide_modal import prepare

log = logging.getLogger(__name__)
#: Waiting for the tenant's slot and for Ekuaibao to confirm: up to about an hour.
MAX_WAITS = 120


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
