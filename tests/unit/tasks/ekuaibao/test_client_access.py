"""The client's access look-ups (getStaffIds, flowDetails, approveStates), with MockTransport;
over 127.0.0.1 against the stand-ins in tests/integration/test_client_access_standin.py."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from sandbox.ekuaibao import (
    SandboxWorld,
)
from tasks.ekuaibao.client import (
    APPROVE_STATES_PATH,
    FLOW_DETAILS_PATH,
    STAFF_IDS_PATH,
    Credentials,
    EkuaibaoClient,
)
from tasks.ekuaibao.errors import BadRequest, CredentialsRejected, Unavailable
from tasks.ekuaibao.flows import FlowParticipants, parse_flow_details
from tasks.ekuaibao.session import CALL_TRIES_MAX
from tasks.ekuaibao.tokens import MemoryTokenStore
from tests.fakes import Clock, ScriptedEkuaibao

FLOW = "ID01vmXWPHarK6"
DETAILS_OK = {
    "value": {
        "id": FLOW,
        "ownerId": "corp:OWNER",
        "form": {"code": "B1", "submitterId": "corp:SUB"},
        "logs": [
            {"action": "freeflow.submit", "operatorId": "corp:SUB", "nextOperatorId": "ebot"},
            {
                "action": "freeflow.agree",
                "operatorId": "corp:A1",
                "byDelegateId": "corp:DELEGATE",
                "nextOperatorId": "corp:A2",
                "nextOperatorIds": ["corp:C1", "corp:C2"],
            },
            {"action": "freeflow.comment", "operatorId": "corp:COMMENTER", "nextOperatorId": None},
            {"action": "freeflow.print", "operatorId": "corp:PRINTER"},
        ],
    }
}
STATES_OK = {
    "items": [
        {
            "flowId": FLOW,
            "stageName": "出纳支付",
            "operators": [{"id": "corp:NOW", "name": "王大锤", "code": "15091"}],
            "delegateData": [],
        }
    ]
}


def make(
    handler: Callable[[httpx.Request], httpx.Response], sleeps: list[float] | None = None
) -> EkuaibaoClient:
    http = httpx.Client(base_url="https://ekb.test", transport=httpx.MockTransport(handler))
    return EkuaibaoClient(
        http,
        Credentials("key", "sec"),
        MemoryTokenStore(),
        clock=Clock(),
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
    )


STATES = APPROVE_STATES_PATH.format(flow_ids=FLOW)


# getStaffIds ---------------------------------------------------------------------------------


def test_staff_ids_by_email_request_and_matching() -> None:
    script = ScriptedEkuaibao()
    script.queue(
        STAFF_IDS_PATH,
        httpx.Response(
            200,
            json={
                "items": [
                    {"id": "corp:A", "email": "Alice@Example.com", "active": True},
                    {"id": "corp:B", "email": "bob@example.com", "active": False},
                    {"id": "corp:X", "email": "someone-else@example.com", "active": True},
                ]
            },
        ),
    )
    found = make(script).staff_ids_by_email(
        ["alice@example.com", "ALICE@example.com", " bob@example.com ", ""]
    )
    assert found == {"alice@example.com": "corp:A"}
    (call,) = script.api_calls()
    assert call.method == "POST"
    assert call.url.params["accessToken"] == "ID_t1:corp"
    assert json.loads(call.content) == {
        "type": "MAIL",
        "conditionIds": ["alice@example.com", "bob@example.com"],
    }


def test_staff_ids_by_email_sends_at_most_100_per_call() -> None:
    script = ScriptedEkuaibao()
    emails = [f"user{n}@example.com" for n in range(150)]
    assert make(script).staff_ids_by_email(emails) == {}
    sizes = [len(json.loads(c.content)["conditionIds"]) for c in script.api_calls()]
    assert sizes == [100, 50]


def test_a_shared_email_maps_to_nobody_and_a_lone_answer_without_email_counts() -> None:
    script = ScriptedEkuaibao()
    two = {"items": [{"id": "corp:A", "email": "x@e.com"}, {"id": "corp:B", "email": "X@e.com"}]}
    lone = {"items": [{"id": "corp:C", "email": "", "active": True}]}
    script.queue(STAFF_IDS_PATH, httpx.Response(200, json=two), httpx.Response(200, json=lone))
    client = make(script)
    assert client.staff_ids_by_email(["x@e.com"]) == {}
    assert client.staff_ids_by_email(["c@e.com"]) == {"c@e.com": "corp:C"}


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (
            httpx.Response(
                400, json={"errorCode": 400, "errorMessage": "查询conditionIds不能为空"}
            ),
            BadRequest,
        ),
        (httpx.Response(502, text="<html>bad gateway</html>"), Unavailable),
        (httpx.Response(200, json={"items": {"not": "a list"}}), Unavailable),
    ],
)
def test_staff_ids_errors_use_the_error_map(response: httpx.Response, error: type) -> None:
    script = ScriptedEkuaibao()
    script.queue(STAFF_IDS_PATH, *[response] * CALL_TRIES_MAX)  # the same to every repeat
    with pytest.raises(error):
        make(script).staff_ids_by_email(["a@e.com"])


# flowDetails + approveStates -------------------------------------------------------------------


def test_flow_participants_combines_history_and_current_approvers() -> None:
    script = ScriptedEkuaibao()
    script.queue(FLOW_DETAILS_PATH, httpx.Response(200, json=DETAILS_OK))
    script.queue(STATES, httpx.Response(200, json=STATES_OK))
    got = make(script).flow_participants(FLOW)
    assert got == FlowParticipants(
        flow_id=FLOW,
        submitter_id="corp:SUB",
        owner_id="corp:OWNER",
        approver_ids=frozenset(
            {"corp:A1", "corp:DELEGATE", "corp:A2", "corp:C1", "corp:C2", "corp:NOW"}
        ),
    )
    details, states = script.api_calls()
    assert details.method == states.method == "GET"
    assert details.url.path == FLOW_DETAILS_PATH
    assert list(details.url.params.items()) == [("flowId", FLOW), ("accessToken", "ID_t1:corp")]
    assert details.content == b""
    assert states.url.raw_path.decode() == f"{STATES}?accessToken=ID_t1%3Acorp"
    assert states.url.raw_path.startswith(b"/api/openapi/v2/approveStates/%5BID01vmXWPHarK6%5D")


def test_get_calls_renew_a_refused_token_like_posts() -> None:
    """Same path as POSTs: a brand-new token gets one short wait, then one renewal."""
    script, sleeps = ScriptedEkuaibao(), []
    script.queue(FLOW_DETAILS_PATH, *[httpx.Response(403, text="未授权")] * 2)
    script.queue(FLOW_DETAILS_PATH, httpx.Response(200, json=DETAILS_OK))
    script.queue(STATES, httpx.Response(200, json=STATES_OK))
    make(script, sleeps).flow_participants(FLOW)
    tokens = [c.url.params["accessToken"] for c in script.api_calls()]
    assert tokens == ["ID_t1:corp", "ID_t1:corp", "ID_t2:corp", "ID_t2:corp"]
    assert sleeps == [1.5]


def test_get_calls_give_up_after_a_refused_fresh_token() -> None:
    script = ScriptedEkuaibao()
    script.queue(FLOW_DETAILS_PATH, *[httpx.Response(403, text="未授权")] * 3)
    with pytest.raises(CredentialsRejected):
        make(script).flow_participants(FLOW)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(412, json={"errorCode": 412, "errorMessage": "单据不存在"}),
        httpx.Response(412, json={"errorCode": 412, "errorMessage": "单据已删除"}),
        httpx.Response(200, json={"value": {}}),
        httpx.Response(200, json={"value": None}),
    ],
)
def test_missing_reports_are_bad_request_412(response: httpx.Response) -> None:
    script = ScriptedEkuaibao()
    script.queue(FLOW_DETAILS_PATH, response)
    with pytest.raises(BadRequest) as info:
        make(script).flow_participants(FLOW)
    assert info.value.status == 412
    assert len(script.api_calls()) == 1  # no approveStates call for a missing report


@pytest.mark.parametrize(
    ("details", "states"),
    [
        (httpx.Response(500, text="oops"), None),
        (httpx.Response(200, text="<html>"), None),
        (httpx.Response(200, json={"value": {"logs": "nope"}}), None),
        (httpx.Response(200, json=DETAILS_OK), httpx.Response(503, text="busy")),
        (httpx.Response(200, json=DETAILS_OK), httpx.Response(200, json={"items": [{}]})),
    ],
)
def test_flow_failures_are_unavailable(
    details: httpx.Response, states: httpx.Response | None
) -> None:
    script = ScriptedEkuaibao()
    script.queue(FLOW_DETAILS_PATH, *[details] * CALL_TRIES_MAX)  # the same to every repeat
    if states is not None:
        script.queue(STATES, *[states] * CALL_TRIES_MAX)
    with pytest.raises(Unavailable):
        make(script).flow_participants(FLOW)


@pytest.mark.parametrize("bad", ["", "a/b", "x]", "a,b", "../x", "ID 1"])
def test_unsafe_flow_ids_never_reach_the_network(bad: str) -> None:
    script = ScriptedEkuaibao()
    with pytest.raises(ValueError):
        make(script).flow_participants(bad)
    assert script.calls == []


def test_documented_sample_history_has_no_approvers_yet() -> None:
    """The docs' sample: submitted, handed to the ebot; nobody approved it yet."""
    sample = SandboxWorld.load().flows["lrMb7AO5So2800"]
    got = parse_flow_details("lrMb7AO5So2800", {"value": sample})
    assert got is not None
    assert got.submitter_id == got.owner_id == "djg8LshfUkfM00:Dwk7NVkt7o1E00"
    assert got.approver_ids == frozenset()
