"""The approver's own questions: their queue, a card, more invoices, a deep link."""

from __future__ import annotations

import logging
from typing import Any

from tasks.contracts import SAFE_ID, ReviewAsk
from tasks.ekuaibao.approval_models import Flow, FlowGone, Staff
from tasks.ekuaibao.approvals import DEEP_LINK_S
from tasks.review.acting import acting_staff
from tasks.review.cards.messages import post_card, update_card, write_audit
from tasks.review.cards.service import settle_card
from tasks.review.cards.view import card_view, flow_invoices
from tasks.review.deps import ReviewDeps
from tasks.shared.acks import simple
from tasks.shared.blocks import escape
from tasks.shared.review_texts import ReviewTexts, review_texts_for
from tasks.shared.texts import texts_for
from tasks.slack import review_card as card
from tasks.slack.identity import Refusal
from tasks.state.review_cards import Card

log = logging.getLogger(__name__)


def handle_ask(ask: ReviewAsk, deps: ReviewDeps) -> None:
    language = ask.language or deps.lookup.language.for_user(ask.user_id)
    review = review_texts_for(language)
    staff = asker_of(deps, ask.user_id, ask.kind)
    if not isinstance(staff, Staff):
        answer_ask(deps, ask, simple(texts_for(language).not_member if staff else review.not_staff))
        return
    if ask.kind == "queue":
        total, flows = deps.api.pending(staff.staff_id)
        answer_ask(deps, ask, card.queue_message(total, queue_items(deps, flows), review))
        return
    if not SAFE_ID.fullmatch(ask.flow_id):
        return
    stage_call = deps.submit(deps.api.stages, [ask.flow_id])
    try:
        flow = deps.api.flow(ask.flow_id)
    except FlowGone as gone:
        settle_card(deps, ask.flow_id, None, None, gone=gone)
        answer_ask(deps, ask, simple(review.not_approver))
        return
    stage = stage_call.result().get(ask.flow_id)
    current = stage is not None and stage.has(staff.staff_id)
    if not current:
        if not settle_card(deps, ask.flow_id, flow, stage, only=staff.staff_id):
            answer_ask(deps, ask, simple(review.not_approver))
        return
    assert stage is not None
    if ask.kind == "open":
        _send_deep_link(deps, ask, staff, flow, review)
        return
    if ask.kind == "more":
        _post_more(deps, ask, staff, flow, language)
        return
    message = card.review_card(card_view(deps, flow, stage), texts_for(language), review)
    if deps.decorate is not None:
        message = deps.decorate(message, flow, staff.staff_id, language)
    known = deps.cards.get(flow.flow_id, staff.staff_id)
    if ask.kind == "refresh" and known is not None and update_card(deps, known, message):
        return
    posted = post_card(deps, ask.user_id, message)
    if posted is not None:
        deps.cards.put(
            flow.flow_id, staff.staff_id, Card(*posted, ask.user_id, flow.code, flow.title)
        )
        if ask.kind == "card":
            text = review.card_posted.format(code=escape(flow.code or flow.flow_id))
            answer_ask(deps, ask, simple(text))


def _send_deep_link(
    deps: ReviewDeps, ask: ReviewAsk, staff: Staff, flow: Flow, review: ReviewTexts
) -> None:
    """A single-use login link, made now and sent only to the approver who asked."""
    try:
        url = deps.api.deep_link(staff.staff_id, flow.flow_id)
    except Exception as exc:
        reason = type(exc).__name__
        answer_ask(deps, ask, simple(review.deep_link_failed.format(reason=reason)))
        return
    expires = int(deps.clock()) + DEEP_LINK_S
    answer_ask(deps, ask, card.deep_link(url, flow, expires, review))
    write_audit(flow.flow_id, staff.staff_id, ask.user_id, "deep link sent")


def _post_more(deps: ReviewDeps, ask: ReviewAsk, staff: Staff, flow: Flow, language: str) -> None:
    """The next page of the report's invoices, in the card's thread."""
    invoices = flow_invoices(deps, flow)
    known = deps.cards.get(flow.flow_id, staff.staff_id)
    thread = known.ts if known else ask.message_ts
    channel = known.channel if known else ask.channel_id
    message = card.more_invoices(
        flow,
        invoices.invoices,
        ask.page,
        texts_for(language),
        review_texts_for(language),
        pictures=deps.lookup.previews != "off",
        previews=deps.lookup.previews == "all",
    )
    post_card(deps, channel, message, thread_ts=thread or None)


def asker_of(deps: ReviewDeps, user_id: str, kind: str = "queue") -> Staff | Refusal | None:
    """A login link is power: its staff record is read now, never from the cache."""
    if kind == "open":
        return acting_staff(deps, user_id, "open reports in Ekuaibao", cached=False)
    return acting_staff(deps, user_id, "see reports to review", cached=True)


def queue_items(deps: ReviewDeps, flows: list[Flow]) -> list[card.QueueItem]:
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


def answer_ask(deps: ReviewDeps, ask: ReviewAsk, message: dict[str, Any]) -> None:
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
    post_card(deps, ask.channel_id or ask.user_id, message)
