"""The review use case, independent of Celery: Ekuaibao's approval messages become review
cards in approvers' DMs and keep them true (an approver's own questions: `asks`).

Nothing in an event is trusted: it only says which report to re-read. The report, its
current approvers (approveStates) and the recipient's email (their staff record, read by
id) come from the API, so a forged or stale event DMs nobody. Card updates are decided by
the report's state now, not by what the event claims happened.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from tasks.contracts import OUTBOUND_ACTIONS, SAFE_ID, ReviewEvent
from tasks.ekuaibao.approval_models import Flow, FlowGone, Staff, Stage
from tasks.review.cards.messages import (
    NoSlackUser,
    post_card,
    slack_user_of,
    update_card,
    write_audit,
)
from tasks.review.cards.view import card_view
from tasks.review.deps import ReviewDeps
from tasks.shared.review_texts import ReviewTexts, review_texts_for
from tasks.shared.texts import texts_for
from tasks.slack import review_card as card
from tasks.state.review_cards import Card

log = logging.getLogger(__name__)

#: Ekuaibao resends (its admin's retry button): one message is handled once a day.
EVENT_DEDUP_S = 24 * 3600
REMINDERS = frozenset({"freeflow.remind", "urgent.remind", "timeout.remind"})
#: The recipient of these must act now: they get a card when they are a current approver.
CARD_ACTIONS = frozenset({"backlog.approving"}) | REMINDERS


def handle_event(event: ReviewEvent, deps: ReviewDeps, *, first_try: bool = True) -> None:
    """One outbound message. Raises Unavailable when Ekuaibao failed (the task retries)."""
    payload = event.payload
    action, shown = _action(payload.get("action"))
    flow_id = _plain(payload.get("flowId"), 64)
    node_id = _safe_id(payload.get("nodeId"))
    user_info = payload.get("userInfo")
    recipient = _safe_id(user_info.get("id")) if isinstance(user_info, dict) else ""
    if not SAFE_ID.fullmatch(flow_id):
        log.warning("ignored an Ekuaibao event without a usable flowId (action %s)", shown)
        return
    # An unknown action is only a reason to re-read the report (idempotent): not deduplicated.
    key = hashlib.sha256(f"{flow_id}\n{node_id}\n{action}\n{recipient}".encode()).hexdigest()
    if action and first_try and not deps.dedup.first(f"ekb-event:{key[:32]}", EVENT_DEDUP_S):
        log.info("ignored a repeated Ekuaibao event %s for report %s", shown, flow_id)
        return
    log.info("Ekuaibao event %s for report %s (recipient %s)", shown, flow_id, recipient or "-")
    staff_call = deps.submit(deps.api.staff, [recipient]) if action in CARD_ACTIONS else None
    stage_call = deps.submit(deps.api.stages, [flow_id])
    try:
        flow = deps.api.flow(flow_id)
    except FlowGone as gone:
        stage_call.cancel()
        settle_card(deps, flow_id, None, None, gone=gone)
        return
    stage = stage_call.result().get(flow_id)
    settle_card(deps, flow_id, flow, stage)
    if action in CARD_ACTIONS:
        assert staff_call is not None
        staff = staff_call.result().get(recipient)
        if stage is None or not recipient or not stage.has(recipient):
            log.warning(
                "Ekuaibao event %s for report %s names %s, who is not a current approver of "
                "it: forged or stale, nothing sent",
                action,
                flow_id,
                recipient or "nobody",
            )
            return
        _to_approver(deps, flow, stage, recipient, staff, action)
    elif action in ("flow.rejected", "flow.paid") and deps.notify_submitters:
        _to_submitter(deps, flow, paid=action == "flow.paid")


def _to_approver(
    deps: ReviewDeps, flow: Flow, stage: Stage, staff_id: str, staff: Staff | None, action: str
) -> None:
    try:
        slack_user = slack_user_of(deps, staff_id, staff)
    except NoSlackUser:
        return
    known = deps.cards.get(flow.flow_id, staff_id)
    language = deps.lookup.language.for_user(slack_user)
    if action in REMINDERS and known is not None:
        message = card.reminder(action, review_texts_for(language))
        post_card(deps, known.channel, message, thread_ts=known.ts)
        write_audit(flow.flow_id, staff_id, slack_user, f"reminder {action}")
        return
    message = card.review_card(
        card_view(deps, flow, stage), texts_for(language), review_texts_for(language)
    )
    if deps.decorate is not None:
        message = deps.decorate(message, flow, staff_id, language)
    if known is not None and update_card(deps, known, message):
        write_audit(flow.flow_id, staff_id, slack_user, "card refreshed")
        return
    posted = post_card(deps, slack_user, message)
    if posted is not None:
        channel, ts = posted
        deps.cards.put(flow.flow_id, staff_id, Card(channel, ts, slack_user, flow.code, flow.title))
        write_audit(flow.flow_id, staff_id, slack_user, "card posted")


def _to_submitter(deps: ReviewDeps, flow: Flow, *, paid: bool) -> None:
    """Only when the report's own state says so: an event alone proves nothing."""
    if (paid and flow.state not in ("paid", "archived")) or (not paid and flow.state != "rejected"):
        log.warning(
            "report %s is %s, not %s: not telling its submitter",
            flow.flow_id,
            flow.state,
            "paid" if paid else "rejected",
        )
        return
    try:
        slack_user = slack_user_of(deps, flow.submitter_id, None)
    except NoSlackUser:
        return
    review = review_texts_for(deps.lookup.language.for_user(slack_user))
    if post_card(deps, slack_user, card.submitter_notice(flow, paid, review)) is not None:
        write_audit(
            flow.flow_id,
            flow.submitter_id,
            slack_user,
            "submitter told " + ("paid" if paid else "rejected"),
        )


def settle_card(
    deps: ReviewDeps,
    flow_id: str,
    flow: Flow | None,
    stage: Stage | None,
    *,
    gone: FlowGone | None = None,
    only: str | None = None,
) -> bool:
    """Every remembered card of this report whose approver no longer has to act is
    updated to say what happened and where the report is now, without buttons. Returns
    whether `only` (one approver) was among them."""
    settled = False
    for staff_id, known in deps.cards.of_flow(flow_id).items():
        if only is not None and staff_id != only:
            continue
        if gone is None and stage is not None and stage.has(staff_id):
            continue
        review = review_texts_for(deps.lookup.language.for_user(known.slack_user))
        outcome = _outcome(flow, staff_id, gone, review)
        code = (flow.code if flow else "") or known.code or flow_id
        title = (flow.title if flow else "") or known.title
        message = card.moved_on(code, title, outcome, None if gone else stage, review)
        update_card(deps, known, message)
        deps.cards.forget(flow_id, staff_id)
        write_audit(
            flow_id, staff_id, known.slack_user, "card closed: " + (flow.state if flow else "gone")
        )
        settled = settled or staff_id == only
    return settled


def _outcome(flow: Flow | None, staff_id: str, gone: FlowGone | None, review: ReviewTexts) -> str:
    if gone is not None or flow is None:
        return review.outcome_deleted
    if flow.state == "rejected":
        return review.outcome_rejected
    if flow.state in ("paid", "archived"):
        return review.outcome_paid
    if flow.state == "draft" or flow.last_action == "freeflow.retract":
        return review.outcome_withdrawn
    if flow.last_action == "freeflow.agree" and flow.last_operator == staff_id:
        return review.outcome_approved
    return review.outcome_elsewhere


def _action(value: Any) -> tuple[str, str]:
    """The action when Ekuaibao documents it (else ""), and how to log it: an unknown one
    only as a short digest, so no text of the sender's reaches a log line."""
    if isinstance(value, str) and value in OUTBOUND_ACTIONS:
        return value, value
    raw = value if isinstance(value, str) else type(value).__name__
    digest = hashlib.sha256(raw.encode("utf-8", "backslashreplace")).hexdigest()[:8]
    return "", f"unknown#{digest}"


def _safe_id(value: Any) -> str:
    """An id as Ekuaibao writes them, whole (not cut to fit), else ""."""
    text = value.strip() if isinstance(value, str) else ""
    return text if SAFE_ID.fullmatch(text) else ""


def _plain(value: Any, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""
