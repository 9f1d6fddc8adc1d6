"""The decision buttons on a review card, when deciding in Slack is on and licensed."""

from __future__ import annotations

from tasks.ekuaibao.approval_models import Flow
from tasks.review.decide.deps import Licence
from tasks.shared.blocks import Message
from tasks.shared.decide_texts import decide_texts_for
from tasks.slack.decision_card import decision_buttons, with_decision_buttons


def with_buttons(
    licence: Licence, message: Message, flow: Flow, staff_id: str, language: str | None
) -> Message:
    """The review card, plus what Ekuaibao's `actions` lets this approver do."""
    if not licence.active:
        return message
    return with_decision_buttons(
        message, decision_buttons(flow, staff_id, decide_texts_for(language))
    )
