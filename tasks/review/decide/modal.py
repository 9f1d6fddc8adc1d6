"""The decision modal, filled by the worker once the guard has passed: the report's code,
amount and invoices again, and what this decision needs (a comment, a reason and where
it goes back to, or the question); or the reason nothing can be done."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from tasks.contracts import Decision, DecisionRef
from tasks.review.decide.deps import DecideDeps
from tasks.review.decide.guard import Checked, Refused, audit, guard
from tasks.shared.blocks import Block, escape, money, section
from tasks.shared.decide_texts import DecideTexts, decide_texts_for
from tasks.shared.decide_views import modal

log = logging.getLogger(__name__)


def _input(block_id: str, label: str, *, optional: bool, multiline: bool = True) -> Block:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": {
            "type": "plain_text_input",
            "action_id": "text",
            "multiline": multiline,
            "max_length": 1000,
        },
    }


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text[:75]}, "value": value}


def filled_view(
    decision: Decision, checked: Checked, submitter: str, texts: DecideTexts
) -> dict[str, Any]:
    flow = checked.report.flow
    amount = money(flow.amount) if flow.amount is not None else "—"
    summary = texts.summary.format(
        code=escape(flow.code or flow.flow_id),
        title=escape(flow.title or "—"),
        amount=amount,
        invoices=len(flow.invoice_ids),
        submitter=escape(submitter),
        stage=escape(checked.stage.name or "—"),
    )
    blocks: list[Block] = [section(summary)]
    if decision.what == "approve":
        blocks.append(_input("comment", texts.comment_label, optional=True))
    elif decision.what == "reject":
        blocks.append(_input("reason", texts.reason_label, optional=False))
        targets = [_option(texts.to_submitter, "submitter")]
        targets += [_option(name, node) for node, name in checked.report.earlier_nodes()[:50]]
        blocks.append(
            {
                "type": "input",
                "block_id": "reject_to",
                "label": {"type": "plain_text", "text": texts.reject_to_label},
                "element": {
                    "type": "static_select",
                    "action_id": "pick",
                    "options": targets,
                    "initial_option": targets[0],
                },
            }
        )
        methods = [
            _option(texts.from_start, "FROM_START"),
            _option(texts.to_rejector, "TO_REJECTOR"),
        ]
        blocks.append(
            {
                "type": "input",
                "block_id": "resubmit",
                "label": {"type": "plain_text", "text": texts.resubmit_label},
                "element": {
                    "type": "radio_buttons",
                    "action_id": "pick",
                    "options": methods,
                    "initial_option": methods[0],
                },
            }
        )
    else:
        blocks.append(_input("question", texts.question_label, optional=False))
    bound = DecisionRef(flow.flow_id, checked.node_id, flow.version).encode()
    return modal(decision.what, texts, blocks, bound, True)


def prepare(decision: Decision, deps: DecideDeps) -> None:
    """Fill the modal the bot opened, or turn it into the reason nothing can be done."""
    texts = decide_texts_for(decision.language)
    try:
        checked = guard(deps, decision, texts)
    except Refused as refused:
        audit(decision, "", decision.node_id, f"refused at open: {refused.reason}")
        view = modal(
            decision.what,
            texts,
            [section(refused.text)],
            DecisionRef(decision.flow_id).encode(),
            False,
        )
    else:
        submitter_id = checked.report.flow.submitter_id
        found = deps.review.api.staff([submitter_id]).get(submitter_id)
        name = found.name if found and found.name else submitter_id.split(":", 1)[-1]
        view = filled_view(decision, checked, name, texts)
    try:
        deps.review.slack.views_update(view_id=decision.view_id, view=view)
    except SlackApiError as exc:
        log.warning("could not fill the decision modal: %s", exc.response.get("error"))
