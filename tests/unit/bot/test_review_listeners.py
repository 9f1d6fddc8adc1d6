"""The review and decide listeners called directly with a fake `ack`: which button was
clicked comes from its action id, what is queued carries only ids, and a bad modal is
answered in the ack without queueing anything."""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import Mock

import pytest

from bot.listeners import decide, review
from tasks.contracts import Decision, ReviewAsk
from tests.unit.bot.test_listeners import Queue, context

FLOW = "ID01vmXWPHarK6"


def click(action_id: str, value: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    body = {
        "user": {"id": "U1"},
        "team": {"id": "T1"},
        "trigger_id": "1.2.abc",
        "response_url": "https://hooks.slack.test/r/1",
        "container": {"channel_id": "D1", "message_ts": "171.000100"},
    }
    return body, {"action_id": action_id, "value": json.dumps(value)}


def test_a_review_card_click_is_acked_and_queued_once_with_its_kind_and_page() -> None:
    queue = Queue()
    ctx = context(queue)
    body, action = click("review_card_2", {"f": FLOW, "p": 1})
    for _ in range(2):  # a double click queues once
        ack = Mock()
        review.review_clicked(ack, body, action, ctx)
        ack.assert_called_once_with()
    (ask,) = queue.sent
    assert isinstance(ask, ReviewAsk)
    assert (ask.kind, ask.flow_id, ask.page, ask.channel_id, ask.message_ts) == (
        "card",
        FLOW,
        1,
        "D1",
        "171.000100",
    )


@pytest.mark.parametrize(
    ("action_id", "value"),
    [
        ("review_card_0", {"f": "no spaces allowed"}),
        ("review_open", {"f": FLOW, "p": -1}),
        ("review_elsewhere", {"f": FLOW}),
    ],
)
def test_a_review_click_with_a_bad_value_or_button_is_acked_and_dropped(
    action_id: str, value: dict[str, Any]
) -> None:
    ack, queue = Mock(), Queue()
    review.review_clicked(ack, *click(action_id, value), context(queue))
    ack.assert_called_once_with()
    assert queue.sent == []


def test_a_decide_click_opens_the_checking_modal_then_queues_the_check() -> None:
    ack, queue, client = Mock(), Queue(), Mock()
    client.views_open.return_value = {"view": {"id": "V1"}}
    decide.decide_clicked(
        ack, *click("decide_reject", {"f": FLOW, "n": "N1"}), client, context(queue)
    )
    ack.assert_called_once_with()
    assert client.views_open.call_args.kwargs["trigger_id"] == "1.2.abc"
    (decision,) = queue.sent
    assert isinstance(decision, Decision)
    assert (decision.step, decision.what, decision.flow_id, decision.node_id, decision.view_id) == (
        "prepare",
        "reject",
        FLOW,
        "N1",
        "V1",
    )


def modal(callback_id: str, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    view = {
        "callback_id": callback_id,
        "private_metadata": json.dumps({"f": FLOW, "n": "N1"}),
        "state": {"values": values},
    }
    return {"user": {"id": "U1"}, "team": {"id": "T1"}}, view


def test_a_rejection_without_a_reason_is_refused_in_the_ack_and_nothing_queued() -> None:
    ack, queue = Mock(), Queue()
    decide.decide_submitted(ack, *modal("decide_reject", {}), context(queue))
    assert ack.call_args.kwargs["response_action"] == "errors"
    assert set(ack.call_args.kwargs["errors"]) == {"reason"}
    assert queue.sent == []


def test_a_rejection_with_a_reason_is_queued_then_acked() -> None:
    ack, queue = Mock(), Queue()
    values = {
        "reason": {"text": {"value": "  wrong amount  "}},
        "reject_to": {"pick": {"selected_option": {"value": "submitter"}}},
    }
    decide.decide_submitted(ack, *modal("decide_reject", values), context(queue))
    ack.assert_called_once_with()
    (decision,) = queue.sent
    assert isinstance(decision, Decision)
    assert (decision.step, decision.comment, decision.reject_to) == ("decide", "wrong amount", "")


@pytest.mark.parametrize(
    ("metadata", "queued"),
    [
        ({"f": FLOW, "n": "N1", "v": "1700000000000|100.00|3"}, "1700000000000|100.00|3"),
        ({"f": FLOW, "n": "N1"}, ""),  # a modal that showed nothing: the worker refuses it
        ({"f": FLOW, "n": "N1", "v": "1|<script>|3"}, None),
        ({"f": FLOW, "n": "N1", "v": "1|2|3|4"}, None),
    ],
)
def test_a_confirm_carries_the_version_its_modal_showed(
    metadata: dict[str, Any], queued: str | None
) -> None:
    ack, queue = Mock(), Queue()
    body, view = modal("decide_approve", {})
    decide.decide_submitted(
        ack, body, {**view, "private_metadata": json.dumps(metadata)}, context(queue)
    )
    ack.assert_called_once_with()
    if queued is None:
        assert queue.sent == []  # malformed: nothing goes to the workers
    else:
        (decision,) = queue.sent
        assert isinstance(decision, Decision) and decision.version == queued
