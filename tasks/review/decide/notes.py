"""What a decision tells the person: their card's new text (in place of its buttons), or a
note in their DM."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from tasks.contracts import Decision
from tasks.ekuaibao.approval_models import Flow
from tasks.review.cards.messages import update_card
from tasks.review.decide.deps import DecideDeps
from tasks.shared.blocks import section
from tasks.shared.review_texts import review_texts_for
from tasks.slack.decision_card import decided_card

log = logging.getLogger(__name__)


def tell_decider(deps: DecideDeps, decision: Decision, text: str) -> None:
    """Privately, in the person's DM with the bot."""
    try:
        deps.review.slack.chat_postMessage(
            channel=decision.user_id, text=text, blocks=[section(text)], unfurl_links=False
        )
    except SlackApiError as exc:
        log.warning("could not tell %s: %s", decision.user_id, exc.response.get("error"))


def card_text(
    deps: DecideDeps,
    flow: Flow,
    staff_id: str,
    text: str,
    open_button: bool,
    language: str | None = None,
) -> None:
    """The approver's card now says `text` (no decision buttons: a second click or another
    copy can do nothing twice); failures keep Open in Ekuaibao."""
    known = deps.review.cards.get(flow.flow_id, staff_id)
    if known is None:
        return
    label = review_texts_for(language).open_button if open_button else None
    message = decided_card(flow, text, label, int(deps.clock()))
    update_card(deps.review, known, message)
