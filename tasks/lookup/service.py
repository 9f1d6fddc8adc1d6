"""What one lookup does, independent of Celery: gate, fetch, assemble, render, reply once.

Returns the delay before a retry when Ekuaibao is failing and time is left; the Celery task
turns that into `self.retry`. Every other path ends in exactly one final reply.
"""

from __future__ import annotations

import logging
import threading

from tasks.contracts import LookupRequest, Notice
from tasks.ekuaibao import budget, session
from tasks.ekuaibao.errors import (
    BadRequest,
    BudgetSpent,
    CredentialsRejected,
    RateLimited,
    Unavailable,
)
from tasks.ekuaibao.line import Priority
from tasks.lookup.delivery import POSTING_CLAIM_S, AlreadyPosting, audit, deliver, fail
from tasks.lookup.deps import Deps
from tasks.lookup.fetching import ReportNotFound, fetch
from tasks.lookup.gate import only_what_they_may_see, refusal
from tasks.lookup.history import remember
from tasks.lookup.turns import end_turn, person, take_turn
from tasks.shared import acks
from tasks.shared.blocks import escape
from tasks.shared.dedup import STATE_ERRORS
from tasks.shared.texts import Texts
from tasks.slack import render
from tasks.summary import LookupResult

log = logging.getLogger(__name__)


def handle_lookup(
    request: LookupRequest, deps: Deps, attempt: int = 0, *, redelivered: bool = True
) -> float | None:
    """Run one attempt. Returns seconds until the next attempt, or None when answered.

    `redelivered`: whether the broker may have handed this message out before. Only then, or
    on a retry, can the lookup have been answered already; a first delivery skips asking the
    ledger (a round trip to the shared state), and its claim before posting still holds.
    """
    try:
        return _attempt(request, deps, attempt, maybe_answered=redelivered or attempt > 0)
    except AlreadyPosting:
        log.warning(
            "lookup %s: another delivery is posting its reply; checking again later",
            request.request_id,
        )
        return POSTING_CLAIM_S + 1.0


def handle_notice(notice: Notice, deps: Deps) -> None:
    texts = deps.texts(notice)
    deliver(deps, notice, [acks.simple(getattr(texts, notice.text_key))], final=True)


def _attempt(
    request: LookupRequest, deps: Deps, attempt: int, *, maybe_answered: bool
) -> float | None:
    started = deps.clock()
    texts = deps.texts(request)
    if (
        maybe_answered
        and deps.ledger is not None
        and deps.ledger.state(request.request_id) == "done"
    ):
        log.info("lookup %s was already answered; not answering twice", request.request_id)
        return None
    if attempt == 0:
        deps.replier.react(request, add="eyes")
    queued = _Queued(request, deps, texts)
    try:
        if refusal(request, deps, texts) is not None:
            return None
        turn = take_turn(request, deps, texts, attempt)
        if turn.retry_in is not None:
            return turn.retry_in  # behind the person's own lookups: not yet, not failed
        token = budget.waiting.set(queued.waiting(turn.priority))
        until = session.retry_until.set(_give_up_at(request, deps))
        try:
            result = only_what_they_may_see(request, deps, fetch(request, deps))
        finally:
            session.retry_until.reset(until)
            budget.waiting.reset(token)
            end_turn(request, deps)
    except STATE_ERRORS:
        raise  # the task tries again shortly: the state store is away, the lookup is fine
    except Exception as exc:
        if isinstance(exc, Unavailable):
            delay = _retry_in(request, deps, attempt, started, exc)
            if delay is not None:
                _tell_retrying(request, deps, texts, queued, attempt, started, exc, delay)
                return delay
        fail(deps, request, *_error_reply(request, deps, texts, exc, attempt, started))
        return None
    _answer(request, deps, texts, result, started)
    return None


def _retry_in(
    request: LookupRequest, deps: Deps, attempt: int, started: float, exc: Unavailable
) -> float | None:
    """Seconds until the next attempt, or None when it would land after the give-up time."""
    asked = exc.retry_after_s if isinstance(exc, RateLimited) else None
    if isinstance(exc, BudgetSpent):  # come back when a slot is within reach
        asked = max(1.0, exc.wait_s - budget.MAX_WAIT_S / 2)
    delay = deps.retry.delay(attempt, asked)
    return delay if started + delay < _give_up_at(request, deps) else None


def _give_up_at(request: LookupRequest, deps: Deps) -> float:
    return min(request.deadline, request.received_at + deps.retry.window_s)


def _tell_retrying(
    request: LookupRequest,
    deps: Deps,
    texts: Texts,
    queued: _Queued,
    attempt: int,
    started: float,
    exc: Unavailable,
    delay: float,
) -> None:
    """The first failure says once that the lookup will keep trying (or waits in line)."""
    log.warning(
        "lookup %s attempt %d: %s; retrying in %.1f s", request.request_id, attempt + 1, exc, delay
    )
    if attempt == 0 and isinstance(exc, BudgetSpent):
        queued.tell(delay + budget.MAX_WAIT_S, exc.ahead)
    elif attempt == 0:
        minutes = max(1, round((_give_up_at(request, deps) - started) / 60))
        retrying = acks.simple(texts.retrying.format(minutes=minutes))
        deliver(deps, request, [retrying], final=False)


def _error_reply(
    request: LookupRequest,
    deps: Deps,
    texts: Texts,
    exc: Exception,
    attempt: int,
    started: float,
) -> tuple[str, str]:
    """The one place that maps an error ending a lookup to its reply and audit outcome."""
    rid, ref = request.request_id, request.request_id[:8]
    if isinstance(exc, Unavailable):
        log.error("lookup %s: giving up after %d attempts: %s", rid, attempt + 1, exc)
        minutes = max(1, round((started - request.received_at) / 60))
        return texts.unavailable.format(minutes=minutes, ref=ref), "ekuaibao unavailable"
    if isinstance(exc, ReportNotFound):
        log.info("lookup %s: report %s not found", rid, request.report)
        code = f"`{escape(request.report)}`"
        if deps.access is not None and deps.access.policy.mode == "ekuaibao":
            text = texts.not_found_or_denied.format(count=1, ids=code)
        else:
            text = texts.report_not_found.format(code=code)
        return text, "report not found (or not theirs)"
    if isinstance(exc, CredentialsRejected):
        log.error("lookup %s: %s (admin: check the Ekuaibao settings)", rid, exc)
        return texts.credentials_rejected.format(ref=ref), "credentials rejected"
    if isinstance(exc, BadRequest):
        log.error("lookup %s: %s", rid, exc)
        reason = escape(str(exc).split(": ", 1)[-1])
        return texts.bad_request.format(reason=reason, ref=ref), "ekuaibao refused"
    log.error("lookup %s failed unexpectedly", rid, exc_info=exc)
    return texts.internal_error.format(ref=ref), "internal error"


def _answer(
    request: LookupRequest, deps: Deps, texts: Texts, result: LookupResult, started: float
) -> None:
    """Render and deliver the final reply, react, and write the audit line."""
    controls = render.Controls(
        owner=request.owner_id or request.user_id,
        mode=request.mode,
        report=request.report,
        page=request.page,
        shared_by=request.user_id,
        keep=request.mode == "full"
        and request.reply_via in ("response_url", "ephemeral")
        and not request.kept,
        pictures=deps.previews != "off",
        previews=deps.previews == "all",
    )
    try:
        messages = render.lookup_messages(result, texts, controls)
    except Exception:  # Ekuaibao data the renderer could not handle: still one clear answer
        log.exception("lookup %s: could not render the reply", request.request_id)
        fail(deps, request, texts.internal_error.format(ref=request.request_id[:8]), "render error")
        return
    if request.part is not None:
        messages = [messages[min(request.part, len(messages) - 1)]]
    delivered = deliver(deps, request, messages, final=True)
    deps.replier.react(request, remove="eyes", add="white_check_mark" if delivered else "x")
    if delivered:
        remember(deps, request, result)
    audit(
        request,
        f"answered found={len(result.invoices)} not_found={len(result.not_found)}"
        + ("" if delivered else " (reply not delivered)"),
    )
    log.info(
        "lookup %s: %d ids%s, %d found, %d not found, %d message(s), %.0f ms",
        request.request_id,
        len(result.requested),
        f" (report {request.report} page {request.page})" if request.report else "",
        len(result.invoices),
        len(result.not_found),
        len(messages),
        (deps.clock() - started) * 1000,
    )


class _Queued:
    """Tells the person once, and truthfully, that their lookup waits in our own line for
    the shared Ekuaibao budget (not that Ekuaibao is slow)."""

    def __init__(self, request: LookupRequest, deps: Deps, texts: Texts) -> None:
        self._request, self._deps, self._texts = request, deps, texts
        self._told = False
        self._lock = threading.Lock()

    def waiting(self, priority: Priority) -> budget.Waiting:
        return budget.Waiting(self._request.request_id, self.tell, person(self._request), priority)

    def tell(self, wait_s: float, ahead: int) -> None:
        with self._lock:
            if self._told:
                return
            self._told = True
        log.info(
            "lookup %s: waits %.1f s for the Ekuaibao budget, %d lookups ahead",
            self._request.request_id,
            wait_s,
            ahead,
        )
        text = self._texts.queued.format(ahead=ahead, seconds=max(1, round(wait_s)))
        deliver(self._deps, self._request, [acks.simple(text)], final=False)
