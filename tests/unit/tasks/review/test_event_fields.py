"""The review worker's half of the event checks: an `action` Ekuaibao does not document is
logged only as a digest and takes no de-duplication slot, a junk `nodeId` stays out of the
key, and a task whose fields are malformed is dropped with one fixed line."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest

from tasks.contracts import ReviewEvent
from tasks.ekuaibao.approval_models import FlowGone
from tasks.review.cards.service import handle_event
from tasks.review.deps import ReviewDeps

FLOW = "ID01aBcDeF"
RECIPIENT = "corp:ID01staff"


class FakeDedup:
    def __init__(self) -> None:
        self.keys: list[str] = []

    def first(self, key: str, ttl_s: float = 0) -> bool:
        self.keys.append(key)
        return key not in self.keys[:-1]


class GoneApi:
    """The report was deleted: the worker only closes the cards it knows (none here)."""

    def flow(self, flow_id: str) -> Any:
        raise FlowGone(flow_id, deleted=True)

    def stages(self, flow_ids: list[str]) -> dict[str, Any]:
        return {}

    def staff(self, ids: list[str]) -> dict[str, Any]:
        return {}


class NoCards:
    def of_flow(self, flow_id: str) -> dict[str, Any]:
        return {}


def handle(payload: dict[str, Any], dedup: FakeDedup) -> None:
    """As a task that bypassed the bot's checks would arrive: unvalidated."""
    executor = ThreadPoolExecutor(1)
    deps = ReviewDeps(
        api=GoneApi(),  # type: ignore[arg-type]
        lookup=SimpleNamespace(executor=executor, identity=None),  # type: ignore[arg-type]
        slack=None,  # type: ignore[arg-type]
        cards=NoCards(),  # type: ignore[arg-type]
        dedup=dedup,
    )
    handle_event(ReviewEvent.model_construct(payload=payload, received_at=0.0), deps)
    executor.shutdown()


def event(action: Any, node: Any = "FLOW:1848031693:1061401484") -> dict[str, Any]:
    return {"action": action, "flowId": FLOW, "nodeId": node, "userInfo": {"id": RECIPIENT}}


@pytest.mark.parametrize(
    "action", ["freeflow.undocumented", "freeflow.remind\nINFO forged line", ["x"], None]
)
def test_an_unknown_action_is_a_digest_in_the_log_and_takes_no_dedup_slot(
    action: Any, caplog: pytest.LogCaptureFixture
) -> None:
    dedup = FakeDedup()
    with caplog.at_level(logging.INFO):
        handle(event(action), dedup)
        handle(event(action), dedup)
    assert dedup.keys == []
    lines = [r.getMessage() for r in caplog.records]
    handled = [line for line in lines if line.startswith("Ekuaibao event unknown#")]
    assert len(handled) == 2 and handled[0] == handled[1]
    assert not any("\n" in line or "forged" in line or "undocumented" in line for line in lines)


def test_a_documented_action_is_handled_once() -> None:
    dedup = FakeDedup()
    handle(event("freeflow.remind"), dedup)
    handle(event("freeflow.remind"), dedup)
    assert len(dedup.keys) == 2 and dedup.keys[0] == dedup.keys[1]


@pytest.mark.parametrize("junk", ["FLOW:1\nx", "x" * 81, {"$ne": ""}, 7])
def test_a_junk_node_id_stays_out_of_the_key(junk: Any) -> None:
    dedup = FakeDedup()
    handle(event("freeflow.remind", junk), dedup)
    handle(event("freeflow.remind", ""), dedup)
    assert dedup.keys[0] == dedup.keys[1]


def test_the_task_drops_an_event_whose_fields_are_malformed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tasks.review.tasks import review_event

    review_event({"payload": event("backlog.approving\nINFO forged"), "received_at": 0.0})
    assert [r.getMessage() for r in caplog.records] == [
        "ignored an Ekuaibao event whose action or nodeId is malformed"
    ]


def test_the_contract_takes_the_documented_sample_and_refuses_other_shapes() -> None:
    from pydantic import ValidationError

    sample = {"action": "backlog.approving", "flowId": "ID01v88t2v84PY"}
    sample |= {"nodeId": "FLOW:1848031693:1061401484", "userInfo": {"id": "7hw8:I6A8"}}
    assert ReviewEvent(payload=sample).payload == sample
    assert ReviewEvent(payload={"flowId": "ID1"}).payload == {"flowId": "ID1"}  # EBot: no action
    for action, node in [("a\nb", ""), ("a", "F\n"), ("a", "F" * 81), ("a", 1), (1, ""), ("", "")]:
        with pytest.raises(ValidationError):
            ReviewEvent(payload={"action": action, "nodeId": node, "flowId": "ID1"})
