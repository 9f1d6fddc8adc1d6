"""Pure renderers for deciding in Slack: the buttons a review card offers this approver,
the confirm modal, and the card once a decision is made (its buttons gone).

Ekuaibao's `actions` decides which buttons exist; every button and modal carries only a
`DecisionRef` (ids, never a payload to trust). Every Ekuaibao value is escaped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from tasks.contracts import DecisionRef
from tasks.ekuaibao.approval_models import Flow
from tasks.shared.blocks import Block, Message, escape, money, section
from tasks.shared.decide_texts import DecideTexts
from tasks.shared.decide_views import modal

#: Slack's limit on the elements of one actions block.
ACTIONS_MAX = 25
#: Earlier nodes offered as a rejection target (a static select holds at most 100).
REJECT_TARGETS = 50


def decision_buttons(flow: Flow, staff_id: str, texts: DecideTexts) -> list[Block]:
    """What `actions` lets this approver do now; choosing the next approver
    (`select.approver`) is Ekuaibao's alone, so Approve is not offered where it is needed."""
    if flow.state != "approving":
        return []
    allowed = flow.actions.get(staff_id, ())
    value = DecisionRef(flow.flow_id, flow.node_id).encode()

    def button(action_id: str, label: str, style: str | None = None) -> Block:
        block: Block = {
            "type": "button",
            "action_id": action_id,
            "text": {"type": "plain_text", "text": label},
            "value": value,
        }
        if style:
            block["style"] = style
        return block

    found: list[Block] = []
    if "freeflow.agree" in allowed and "freeflow.select.approver" not in allowed:
        found.append(button("decide_approve", texts.approve_button, "primary"))
    if "freeflow.reject" in allowed:
        found.append(button("decide_reject", texts.reject_button, "danger"))
    if allowed:
        found.append(button("decide_ask", texts.ask_button))
    return found


def with_decision_buttons(message: Message, extra: Sequence[Block]) -> Message:
    """The review card's own actions row, with `extra` first (Slack keeps 25 at most)."""
    if not extra:
        return message
    for block in message.get("blocks", []):
        if block.get("type") == "actions" and str(block.get("block_id", "")).startswith("review:"):
            block["elements"] = [*extra, *block["elements"]][:ACTIONS_MAX]
    return message


def _input(block_id: str, label: str, *, optional: bool) -> Block:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": {
            "type": "plain_text_input",
            "action_id": "text",
            "multiline": True,
            "max_length": 1000,
        },
    }


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text[:75]}, "value": value}


def _pick(block_id: str, label: str, kind: str, options: list[dict[str, Any]]) -> Block:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": {
            "type": kind,
            "action_id": "pick",
            "options": options,
            "initial_option": options[0],
        },
    }


def decision_modal(
    what: str,
    flow: Flow,
    *,
    node_id: str,
    stage: str,
    submitter: str,
    earlier_nodes: Sequence[tuple[str, str]],
    texts: DecideTexts,
) -> dict[str, Any]:
    """The confirm modal for `what` (approve, reject, ask), bound to the node and version
    the person saw: Confirm decides that, or nothing."""
    summary = texts.summary.format(
        code=escape(flow.code or flow.flow_id),
        title=escape(flow.title or "—"),
        amount=money(flow.amount) if flow.amount is not None else "—",
        invoices=len(flow.invoice_ids),
        submitter=escape(submitter),
        stage=escape(stage or "—"),
    )
    blocks: list[Block] = [section(summary)]
    if what == "approve":
        blocks.append(_input("comment", texts.comment_label, optional=True))
    elif what == "reject":
        blocks.append(_input("reason", texts.reason_label, optional=False))
        targets = [_option(texts.to_submitter, "submitter")]
        targets += [_option(name, node) for node, name in earlier_nodes[:REJECT_TARGETS]]
        blocks.append(_pick("reject_to", texts.reject_to_label, "static_select", targets))
        methods = [
            _option(texts.from_start, "FROM_START"),
            _option(texts.to_rejector, "TO_REJECTOR"),
        ]
        blocks.append(_pick("resubmit", texts.resubmit_label, "radio_buttons", methods))
    else:
        blocks.append(_input("question", texts.question_label, optional=False))
    bound = DecisionRef(flow.flow_id, node_id, flow.version).encode()
    return modal(what, texts, blocks, bound, True)


def refused_modal(what: str, flow_id: str, text: str, texts: DecideTexts) -> dict[str, Any]:
    """The modal that says why nothing can be done (no Confirm)."""
    return modal(what, texts, [section(text)], DecisionRef(flow_id).encode(), False)


def decided_card(flow: Flow, text: str, open_label: str | None, stamp: int) -> Message:
    """The card once decided: `text` in place of the buttons, so a second click can do
    nothing twice; `open_label` keeps Open in Ekuaibao (the block id changes with `stamp`
    so Slack draws the button anew)."""
    blocks: list[Block] = [
        section(f"*{escape(flow.code or flow.flow_id)}* · {escape(flow.title or '—')}\n{text}")
    ]
    if open_label is not None:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"decided:{stamp}",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "review_open",
                        "text": {"type": "plain_text", "text": open_label},
                        "value": json.dumps({"f": flow.flow_id}, separators=(",", ":")),
                    }
                ],
            }
        )
    return {"text": text, "blocks": blocks}
