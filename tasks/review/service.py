"""The review use case, independent of Celery: Ekuaibao's approval messages become review
cards in approvers' DMs and keep them true; approvers' questions get their queue.

Nothing in an event is trusted: it only says which report to re-read. The report, its
current approvers (approveStates) and the recipient's email (their staff record, read by
id) come from the API, so a forged or stale event DMs nobody. Card updates are decided by
the report's state now, not by what the event claims happened.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tasks.contracts import ReviewAsk, ReviewEvent
from tasks.ekuaibao.review import DEEP_LINK_S, SAFE_ID, ReviewApi
from tasks.ekuaibao.review_models import Flow, FlowGone, Staff, Stage
from tasks.lookup.deps import Deps
from tasks.lookup.fetching import _Fetch, _Selection
from tasks.review import card
from tasks.review.store import Card, Cards
from tasks.slack.acks import simple
from tasks.slack.blocks import escape, section
from tasks.slack.texts import ReviewTexts, review_texts_for, texts_for
from tasks.state.dedup import Dedup
from tasks.summary import LookupResult, assemble

log = logging.getLogger(__name__)
#: Who was told what: flow, staff and Slack ids only, never emails, names or links.
audit_log = logging.getLogger("invoicebot.audit")

#: Ekuaibao resends (its admin's retry button): one message is handled once a day.
EVENT_DEDUP_S = 24 * 3600
REMINDERS = frozenset({"freeflow.remind", "urgent.remind", "timeout.remind"})
#: The recipient of these must act now: they get a card when they are a current approver.
CARD_ACTIONS = frozenset({"backlog.approving"}) | REMINDERS


@dataclass
class ReviewDeps:
    api: ReviewApi
    lookup: Deps
    slack: WebClient
    cards: Cards
    dedup: Dedup
    notify_submitters: bool = False
    clock: Callable[[], float] = time.time
    #: Adds the decision buttons to a card (tasks.review.decide), when deciding here is on.
    decorate: Callable[[dict[str, Any], Flow, str, str | None], dict[str, Any]] | None = None

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        return self.lookup.executor.submit(fn, *args)


class NoSlackUser(Exception):
    pass


# -- events ------------------------------------------------------------------------------


def handle_event(event: ReviewEvent, deps: ReviewDeps, *, first_try: bool = True) -> None:
    """One outbound message. Raises Unavailable when Ekuaibao failed (the task retries)."""
    payload = event.payload
    action = _plain(payload.get("action"), 40)
    flow_id = _plain(payload.get("flowId"), 64)
    node_id = _plain(payload.get("nodeId"), 80)
    user_info = payload.get("userInfo")
    recipient = _plain(user_info.get("id"), 80) if isinstance(user_info, dict) else ""
    if not SAFE_ID.fullmatch(flow_id):
        log.warning("ignored an Ekuaibao event without a usable flowId (action %r)", action)
        return
    if recipient and not SAFE_ID.fullmatch(recipient):
        recipient = ""
    key = hashlib.sha256(f"{flow_id}\n{node_id}\n{action}\n{recipient}".encode()).hexdigest()
    if first_try and not deps.dedup.first(f"ekb-event:{key[:32]}", ttl_s=EVENT_DEDUP_S):
        log.info("ignored a repeated Ekuaibao event %s for report %s", action, flow_id)
        return
    log.info("Ekuaibao event %s for report %s (recipient %s)", action, flow_id, recipient or "-")
    staff_call = deps.submit(deps.api.staff, [recipient]) if action in CARD_ACTIONS else None
    stage_call = deps.submit(deps.api.stages, [flow_id])
    try:
        flow = deps.api.flow(flow_id)
    except FlowGone as gone:
        stage_call.cancel()
        _settle(deps, flow_id, None, None, gone=gone)
        return
    stage = stage_call.result().get(flow_id)
    _settle(deps, flow_id, flow, stage)
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
        slack_user = _slack_user(deps, staff_id, staff)
    except NoSlackUser:
        return
    known = deps.cards.get(flow.flow_id, staff_id)
    language = deps.lookup.language.for_user(slack_user)
    if action in REMINDERS and known is not None:
        message = card.reminder(action, review_texts_for(language))
        _post(deps, known.channel, message, thread_ts=known.ts)
        _audit(flow.flow_id, staff_id, slack_user, f"reminder {action}")
        return
    message = card.review_card(
        _view(deps, flow, stage), texts_for(language), review_texts_for(language)
    )
    if deps.decorate is not None:
        message = deps.decorate(message, flow, staff_id, language)
    if known is not None and _update(deps, known, message):
        _audit(flow.flow_id, staff_id, slack_user, "card refreshed")
        return
    posted = _post(deps, slack_user, message)
    if posted is not None:
        channel, ts = posted
        deps.cards.put(flow.flow_id, staff_id, Card(channel, ts, slack_user, flow.code, flow.title))
        _audit(flow.flow_id, staff_id, slack_user, "card posted")


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
        slack_user = _slack_user(deps, flow.submitter_id, None)
    except NoSlackUser:
        return
    review = review_texts_for(deps.lookup.language.for_user(slack_user))
    if _post(deps, slack_user, card.submitter_notice(flow, paid, review)) is not None:
        _audit(
            flow.flow_id,
            flow.submitter_id,
            slack_user,
            "submitter told " + ("paid" if paid else "rejected"),
        )


def _settle(
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
        _update(deps, known, message)
        deps.cards.forget(flow_id, staff_id)
        _audit(
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


# -- fetching ----------------------------------------------------------------------------


def _view(deps: ReviewDeps, flow: Flow, stage: Stage) -> card.ReviewView:
    """Names and invoices at the same time: two more Ekuaibao round trips."""
    names = deps.submit(_names, deps, flow)
    invoices = _invoices(deps, flow)
    submitter, department, template = names.result()
    texts = texts_for("en")
    return card.ReviewView(
        flow,
        stage,
        submitter,
        department,
        template,
        invoices,
        card.Checks.of(flow.flow_id, invoices.invoices, texts),
    )


def _names(deps: ReviewDeps, flow: Flow) -> tuple[str, str | None, str | None]:
    department = deps.submit(deps.api.department_name, flow.department_id)
    template = deps.submit(deps.api.template_name, flow.specification_id)
    staff = deps.api.staff([flow.submitter_id]).get(flow.submitter_id)
    submitter = staff.name if staff and staff.name else flow.submitter_id.split(":", 1)[-1]
    return submitter, department.result(), template.result()


def _invoices(deps: ReviewDeps, flow: Flow) -> LookupResult:
    """Every invoice of the report (the §4 search gives each one's type), fetched by the
    lookup's own code: lines, fresh links and masters at once."""
    refs = deps.lookup.client.report_invoices("id", [flow.flow_id]).get(flow.flow_id, [])
    if not refs:
        return assemble((), _empty(deps), ())
    chosen = _Selection.of_refs(refs)
    data, masters = _Fetch(deps.lookup, chosen, links_here=True).result()
    return assemble(chosen.ids, data, masters)


def _empty(deps: ReviewDeps) -> Any:
    from tasks.ekuaibao.client import InvoiceData

    return InvoiceData((), (), deps.clock())


# -- Slack ---------------------------------------------------------------------------------


def _slack_user(deps: ReviewDeps, staff_id: str, staff: Staff | None) -> str:
    """Their Slack user, found by the email on their Ekuaibao staff record."""
    if staff is None:
        staff = deps.api.staff([staff_id]).get(staff_id)
    if staff is None or not staff.email:
        log.warning(
            "admin: Ekuaibao staff %s has no active record with an email; no DM sent", staff_id
        )
        raise NoSlackUser(staff_id)
    try:
        answer = deps.slack.users_lookupByEmail(email=staff.email)
    except SlackApiError as exc:
        error = str(exc.response.get("error", "error"))
        log.warning(
            "admin: no Slack user has the email of Ekuaibao staff %s (%s); no DM sent",
            staff_id,
            error,
        )
        raise NoSlackUser(staff_id) from None
    user = answer.get("user") or {}
    if user.get("deleted") or user.get("is_bot") or not user.get("id"):
        log.warning(
            "admin: the Slack user of Ekuaibao staff %s is not active; no DM sent", staff_id
        )
        raise NoSlackUser(staff_id)
    return str(user["id"])


def _post(
    deps: ReviewDeps, channel: str, message: dict[str, Any], thread_ts: str | None = None
) -> tuple[str, str] | None:
    try:
        answer = deps.slack.chat_postMessage(
            channel=channel,
            text=message["text"],
            blocks=message.get("blocks"),
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
        )
    except SlackApiError as exc:
        log.error("could not post to %s: %s", channel, exc.response.get("error", "error"))
        return None
    return str(answer.get("channel") or channel), str(answer.get("ts") or "")


def _update(deps: ReviewDeps, known: Card, message: dict[str, Any]) -> bool:
    try:
        deps.slack.chat_update(
            channel=known.channel,
            ts=known.ts,
            text=message["text"],
            blocks=message.get("blocks", []),
        )
        return True
    except SlackApiError as exc:
        log.warning(
            "could not update the card %s in %s: %s",
            known.ts,
            known.channel,
            exc.response.get("error", "error"),
        )
        return False


def _audit(flow_id: str, staff_id: str, slack_user: str, outcome: str) -> None:
    audit_log.info(
        "review flow=%s staff=%s user=%s outcome=%s", flow_id, staff_id, slack_user, outcome
    )


def _plain(value: Any, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


# -- the approver's own questions ------------------------------------------------------------


def handle_ask(ask: ReviewAsk, deps: ReviewDeps) -> None:
    review = review_texts_for(ask.language or deps.lookup.language.for_user(ask.user_id))
    staff = _asker(deps, ask.user_id)
    if staff is None:
        _answer(deps, ask, {"text": review.not_staff, "blocks": [section(review.not_staff)]})
        return
    if ask.kind == "queue":
        total, flows = deps.api.pending(staff.staff_id)
        _answer(deps, ask, card.queue_message(total, _queue_items(deps, flows), review))
        return
    if not SAFE_ID.fullmatch(ask.flow_id):
        return
    stage_call = deps.submit(deps.api.stages, [ask.flow_id])
    try:
        flow = deps.api.flow(ask.flow_id)
    except FlowGone as gone:
        _settle(deps, ask.flow_id, None, None, gone=gone)
        _answer(deps, ask, simple(review.not_approver))
        return
    stage = stage_call.result().get(ask.flow_id)
    current = stage is not None and stage.has(staff.staff_id)
    if not current:
        if not _settle(deps, ask.flow_id, flow, stage, only=staff.staff_id):
            _answer(deps, ask, simple(review.not_approver))
        return
    assert stage is not None
    language = ask.language or deps.lookup.language.for_user(ask.user_id)
    if ask.kind == "open":
        try:
            url = deps.api.deep_link(staff.staff_id, flow.flow_id)
        except Exception as exc:
            reason = type(exc).__name__
            _answer(deps, ask, simple(review.deep_link_failed.format(reason=reason)))
            return
        expires = int(deps.clock()) + DEEP_LINK_S
        _answer(deps, ask, card.deep_link(url, flow, expires, review))
        _audit(flow.flow_id, staff.staff_id, ask.user_id, "deep link sent")
        return
    if ask.kind == "more":
        invoices = _invoices(deps, flow)
        known = deps.cards.get(flow.flow_id, staff.staff_id)
        thread = known.ts if known else ask.message_ts
        channel = known.channel if known else ask.channel_id
        message = card.more_invoices(flow, invoices.invoices, ask.page, texts_for(language), review)
        _post(deps, channel, message, thread_ts=thread or None)
        return
    message = card.review_card(_view(deps, flow, stage), texts_for(language), review)
    if deps.decorate is not None:
        message = deps.decorate(message, flow, staff.staff_id, language)
    known = deps.cards.get(flow.flow_id, staff.staff_id)
    if ask.kind == "refresh" and known is not None and _update(deps, known, message):
        return
    posted = _post(deps, ask.user_id, message)
    if posted is not None:
        deps.cards.put(
            flow.flow_id, staff.staff_id, Card(*posted, ask.user_id, flow.code, flow.title)
        )
        if ask.kind == "card":
            text = review.card_posted.format(code=escape(flow.code or flow.flow_id))
            _answer(deps, ask, simple(text))


def _asker(deps: ReviewDeps, user_id: str) -> Staff | None:
    try:
        user = deps.slack.users_info(user=user_id).get("user") or {}
    except SlackApiError:
        return None
    email = str((user.get("profile") or {}).get("email") or "")
    return deps.api.staff_by_email(email) if email else None


def _queue_items(deps: ReviewDeps, flows: list[Flow]) -> list[card.QueueItem]:
    names = deps.api.staff(f.submitter_id for f in flows if f.submitter_id)
    return [
        card.QueueItem(
            f,
            names[f.submitter_id].name
            if f.submitter_id in names
            else f.submitter_id.split(":", 1)[-1],
        )
        for f in flows
    ]


def _answer(deps: ReviewDeps, ask: ReviewAsk, message: dict[str, Any]) -> None:
    """Privately: through the command's or click's response_url, else in their DM."""
    if ask.response_url:
        try:
            deps.lookup.replier.post(
                ask.response_url, message, replace_original=ask.kind == "queue"
            )
        except Exception as exc:
            log.error(
                "could not answer %s's review %s: %s", ask.user_id, ask.kind, type(exc).__name__
            )
        return
    _post(deps, ask.channel_id or ask.user_id, message)
