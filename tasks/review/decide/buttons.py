"""The decision buttons on a review card: only what Ekuaibao's `actions` lets this approver do."""

from __future__ import annotations

import logging

from tasks.contracts import DecisionRef
from tasks.ekuaibao.review_models import Flow
from tasks.review.decide.deps import Licence
from tasks.shared.blocks import Block, Message
from tasks.shared.decide_texts import DecideTexts, decide_texts_for

log = logging.getLogger(__name__)


def _value(flow: Flow) -> str:
    return DecisionRef(flow.flow_id, flow.node_id).encode()


def buttons(flow: Flow, staff_id: str, texts: DecideTexts) -> list[Block]:
    """What `actions` lets this approver do now (select.approver: Ekuaibao only)."""
    allowed = flow.actions.get(staff_id, ())
    found: list[Block] = []

    def button(action_id: str, label: str, style: str | None = None) -> Block:
        block: Block = {
            "type": "button",
            "action_id": action_id,
            "text": {"type": "plain_text", "text": label},
            "value": _value(flow),
        }
        if style:
            block["style"] = style
        return block

    if flow.state != "approving":
        return found
    if "freeflow.agree" in allowed and "freeflow.select.approver" not in allowed:
        found.append(button("decide_approve", texts.approve_button, "primary"))
    if "freeflow.reject" in allowed:
        found.append(button("decide_reject", texts.reject_button, "danger"))
    if allowed:
        found.append(button("decide_ask", texts.ask_button))
    return found


def with_buttons(
    licence: Licence, message: Message, flow: Flow, staff_id: str, language: str | None
) -> Message:
    """The review card, plus the decision buttons when deciding here is on and licensed."""
    if not licence.active:
        return message
    extra = buttons(flow, staff_id, decide_texts_for(language))
    if not extra:
        return message
    for block in message.get("blocks", []):
        if block.get("type") == "actions" and str(block.get("block_id", "")).startswith("review:"):
            block["elements"] = [*extra, *block["elements"]][:25]
    return message
