"""The review card drawn again, with its decision buttons and a note on top: after a
question was sent to the submitter, or after a decision that never went out."""

from __future__ import annotations

import logging

from tasks.ekuaibao.approval_models import FlowGone
from tasks.ekuaibao.errors import EkuaibaoError
from tasks.review.cards.messages import update_card
from tasks.review.cards.view import card_view
from tasks.review.deps import ReviewDeps
from tasks.shared.review_texts import review_texts_for
from tasks.shared.texts import texts_for
from tasks.slack import review_card as card

log = logging.getLogger(__name__)


def rerender(
    review: ReviewDeps, flow_id: str, staff_id: str, language: str | None, note: str
) -> bool:
    """Re-read the report and update the approver's card in place; False when there is no
    card, the report no longer waits for them, or Ekuaibao or Slack failed (the caller
    then says it another way)."""
    known = review.cards.get(flow_id, staff_id)
    if known is None:
        return False
    try:
        stage_call = review.submit(review.api.stages, [flow_id])
        flow = review.api.flow(flow_id)
        stage = stage_call.result().get(flow_id)
        if stage is None or not stage.has(staff_id):
            return False
        message = card.review_card(
            card_view(review, flow, stage), texts_for(language), review_texts_for(language)
        )
    except (FlowGone, EkuaibaoError) as exc:
        log.warning("could not draw the card of %s again: %s", flow_id, type(exc).__name__)
        return False
    if review.decorate is not None:
        message = review.decorate(message, flow, staff_id, language)
    for block in message.get("blocks", []):
        if block.get("type") == "context":  # the notes under the head: the note goes first
            element = block["elements"][0]
            element["text"] = f"{note}\n{element['text']}"
            break
    return update_card(review, known, message)
