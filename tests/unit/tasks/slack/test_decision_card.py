"""The decision renderers: which buttons Ekuaibao's `actions` allows, what the confirm
modal binds to, and the card once decided, from the documented flowDetails sample."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from tasks.contracts import DecisionRef
from tasks.ekuaibao.approval_models import Flow, parse_flow
from tasks.shared.decide_texts import DecideTexts, decide_texts_for
from tasks.slack.decision_card import (
    ACTIONS_MAX,
    decided_card,
    decision_buttons,
    decision_modal,
    refused_modal,
    with_decision_buttons,
)

SAMPLE = Path(__file__).parents[4] / "sandbox/data/flow-details.response.json"
ME = "corp:me"
EN, ZH = decide_texts_for("en"), decide_texts_for("zh")


def _flow(*actions: str, state: str = "approving") -> Flow:
    flow = parse_flow(json.loads(SAMPLE.read_text("utf-8")))
    return dataclasses.replace(flow, state=state, actions={ME: actions}, node_id="N2")


def test_buttons_follow_what_ekuaibao_lets_this_approver_do() -> None:
    every = _flow("freeflow.agree", "freeflow.reject", "freeflow.comment")
    assert [b["action_id"] for b in decision_buttons(every, ME, EN)] == [
        "decide_approve",
        "decide_reject",
        "decide_ask",
    ]
    # Choosing the next approver is Ekuaibao's alone: no Approve button then.
    picks = _flow("freeflow.agree", "freeflow.select.approver")
    assert [b["action_id"] for b in decision_buttons(picks, ME, EN)] == ["decide_ask"]
    assert decision_buttons(every, "corp:someone-else", EN) == []
    assert decision_buttons(_flow("freeflow.agree", state="paying"), ME, EN) == []


def test_a_button_carries_only_the_ids_it_decides() -> None:
    flow = _flow("freeflow.agree")
    (approve,) = [b for b in decision_buttons(flow, ME, ZH) if b["action_id"] == "decide_approve"]
    assert approve["style"] == "primary" and approve["text"]["text"] == ZH.approve_button
    assert DecisionRef.decode(approve["value"]) == DecisionRef(flow.flow_id, "N2")


def test_buttons_go_first_on_the_review_row_and_slack_s_limit_holds() -> None:
    row = {"type": "actions", "block_id": "review:x", "elements": [{"n": i} for i in range(24)]}
    other = {"type": "actions", "block_id": "more:x", "elements": []}
    extra = decision_buttons(_flow("freeflow.agree", "freeflow.reject"), ME, EN)
    message = with_decision_buttons({"blocks": [row, other]}, extra)
    elements = message["blocks"][0]["elements"]
    assert len(elements) == ACTIONS_MAX and elements[:3] == extra
    assert message["blocks"][1]["elements"] == []
    assert with_decision_buttons({"blocks": [other]}, []) == {"blocks": [other]}


def test_the_modal_binds_to_the_node_and_version_shown_and_escapes_ekuaibao_text() -> None:
    flow = dataclasses.replace(_flow("freeflow.reject"), title="<!channel> & co")
    view = decision_modal(
        "reject",
        flow,
        node_id="N2",
        stage="经理审批",
        submitter="<@U1>",
        earlier_nodes=[("N1", "主管")] + [(f"E{i}", f"n{i}") for i in range(80)],
        texts=EN,
    )
    assert DecisionRef.decode(view["private_metadata"]) == DecisionRef(
        flow.flow_id, "N2", flow.version
    )
    summary = view["blocks"][0]["text"]["text"]
    assert "&lt;!channel&gt; &amp; co" in summary and "&lt;@U1&gt;" in summary
    ids = [b["block_id"] for b in view["blocks"][1:]]
    assert ids == ["reason", "reject_to", "resubmit"]
    targets = view["blocks"][2]["element"]["options"]
    assert [t["value"] for t in targets[:2]] == ["submitter", "N1"] and len(targets) == 51
    assert view["submit"]["text"] == EN.submit_reject


def test_approve_asks_for_an_optional_comment_and_ask_for_the_question() -> None:
    flow = _flow("freeflow.agree")

    def view(what: str, texts: DecideTexts) -> dict[str, Any]:
        return decision_modal(
            what, flow, node_id="N2", stage="", submitter="s", earlier_nodes=[], texts=texts
        )

    approve, ask = view("approve", EN), view("ask", ZH)
    assert [(b["block_id"], b["optional"]) for b in approve["blocks"][1:]] == [("comment", True)]
    assert [(b["block_id"], b["optional"]) for b in ask["blocks"][1:]] == [("question", False)]


def test_a_refusal_has_no_confirm_and_binds_to_nothing_decidable() -> None:
    view = refused_modal("approve", "F1", "It moved on.", EN)
    assert "submit" not in view and view["blocks"][0]["text"]["text"] == "It moved on."
    assert DecisionRef.decode(view["private_metadata"]) == DecisionRef("F1")


def test_a_decided_card_has_no_decision_buttons_and_may_keep_open() -> None:
    flow = dataclasses.replace(_flow("freeflow.agree"), code="<B1>")
    kept = decided_card(flow, "Approved", "Open in Ekuaibao", 17)
    assert kept["text"] == "Approved"
    assert kept["blocks"][0]["text"]["text"].startswith("*&lt;B1&gt;* · ")
    (button,) = kept["blocks"][1]["elements"]
    assert button["action_id"] == "review_open" and kept["blocks"][1]["block_id"] == "decided:17"
    assert json.loads(button["value"]) == {"f": flow.flow_id}
    assert len(decided_card(flow, "Approved", None, 17)["blocks"]) == 1
