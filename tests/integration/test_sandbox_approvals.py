"""The stand-in's deciding endpoints behave as documented: queued work, per-report errors,
the 60-second result window, at most 10 reports a call, charge powers, comments."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import httpx
import pytest

from sandbox.ekuaibao import APPROVER_ID, SUBMITTER_ID, EkuaibaoStandIn
from sandbox.ekuaibao_approver import APPROVER2_ID
from tasks.ekuaibao.decision_models import SHANGHAI, parse_batch, parse_license
from tests.integration.conftest import OffsetClock

AUTH = "/api/openapi/v1/auth/getAccessToken"
CREDS = {"appKey": "sandbox-app-key", "appSecurity": "sandbox-app-security"}
QUERY = {"messageCode": "debug", "powerCode": "TICKET_AUDIT_switch"}


@pytest.fixture
def clock() -> OffsetClock:
    return OffsetClock()


@pytest.fixture
def ekb(clock: OffsetClock) -> Iterator[EkuaibaoStandIn]:
    with EkuaibaoStandIn(clock=clock) as standin:
        standin.approvals.process_delay_s = 0.05
        yield standin


@pytest.fixture
def http(ekb: EkuaibaoStandIn) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ekb.base_url, timeout=5) as client:
        token = client.post(AUTH, json=CREDS).json()["value"]["accessToken"]
        client.params = {"accessToken": token}
        yield client


def submit(http: httpx.Client, ids: list[str], body: dict[str, object]) -> httpx.Response:
    return http.post(f"/api/openapi/v1/backlog/data/%5B{','.join(ids)}%5D", params=QUERY, json=body)


def result(http: httpx.Client, staff: str) -> dict[str, object]:
    answer = http.get(
        "/api/openapi/v1/backlog/data/result",
        params={"approveId": staff, "powerCode": "TICKET_AUDIT_switch"},
    )
    assert answer.status_code == 200, answer.text
    return parse_batch(answer.json()).__dict__


def settled(http: httpx.Client, staff: str) -> dict[str, object]:
    """The result once the queued work is done (nothing left in `residue`)."""
    deadline = time.monotonic() + 10
    while (batch := result(http, staff))["residue"] != 0:
        assert time.monotonic() < deadline, batch
        time.sleep(0.01)
    return batch


def test_approving_is_queued_then_moves_the_report(
    ekb: EkuaibaoStandIn, http: httpx.Client
) -> None:
    ekb.approver.add_report("ID01aPpRoVe01", "B23990001", approvers=[APPROVER_ID])
    node = ekb.approvals.current_node("ID01aPpRoVe01")
    body = {"approveId": APPROVER_ID, "action": {"name": "freeflow.agree", "comment": "好"}}
    queued = submit(http, ["ID01aPpRoVe01"], body).json()["value"]
    assert queued["total"] == 1 and queued["residue"] == 1 and queued["success"] == 0
    assert ekb.world.flows["ID01aPpRoVe01"]["state"] == "approving"  # not yet
    assert settled(http, APPROVER_ID)["success"] == 1
    flow = ekb.world.flows["ID01aPpRoVe01"]
    last = flow["logs"][-1]
    assert (last["action"], last["operatorId"]) == ("freeflow.agree", APPROVER_ID)
    assert last["attributes"]["nodeId"] == node and last["attributes"]["comment"] == "好"
    assert flow["state"] == "paying"
    assert ekb.world.approve_states["ID01aPpRoVe01"]["stageName"] == "出纳支付"
    assert ekb.world.approve_states["ID01aPpRoVe01"]["operators"][0]["id"] == APPROVER2_ID
    # the same decision again: nothing waits for approval any more
    again = submit(http, ["ID01aPpRoVe01"], body)
    assert again.status_code == 400 and "无待办审批事项" in again.text


def test_per_report_errors_the_window_and_the_limits(
    ekb: EkuaibaoStandIn, http: httpx.Client
) -> None:
    ekb.approver.add_report("ID01aPpRoVe02", "B23990002", approvers=[APPROVER2_ID])
    ekb.approver.add_report("ID01aPpRoVe03", "B23990003", approvers=[APPROVER_ID])
    ekb.approvals.needs_select.add("ID01aPpRoVe03")
    body = {"approveId": APPROVER_ID, "action": {"name": "freeflow.agree"}}
    assert submit(http, ["ID01aPpRoVe02", "ID01aPpRoVe03"], body).status_code == 200
    batch = settled(http, APPROVER_ID)
    assert batch["error"] == 2 and batch["residue"] == 0
    assert batch["errors"] == {
        "ID01aPpRoVe02": "您没有权限处理该待办事项",
        "ID01aPpRoVe03": "未选择下级审批人",
    }
    assert ekb.world.flows["ID01aPpRoVe03"]["state"] == "approving"  # untouched
    ekb.approvals.age_results(61)
    assert result(http, APPROVER_ID)["total"] == 0  # the 60-second window is over
    eleven = [f"ID01x{n:02d}" for n in range(11)]
    assert submit(http, eleven, body).status_code == 400
    reject = {"approveId": APPROVER_ID, "action": {"name": "freeflow.reject"}}
    assert "resubmitMethod" in submit(http, ["ID01aPpRoVe03"], reject).text
    stranger = {"approveId": "nobody", "action": {"name": "freeflow.agree"}}
    assert "未设置指定人员" in submit(http, ["ID01aPpRoVe03"], stranger).text
    no_query = http.post("/api/openapi/v1/backlog/data/%5BID01aPpRoVe03%5D", json=body)
    assert no_query.status_code == 400


def test_charge_powers_and_comments(
    ekb: EkuaibaoStandIn, http: httpx.Client, clock: OffsetClock
) -> None:
    now = dt.datetime.now(SHANGHAI)
    powers = http.get("/api/openapi/v1/charge/powers/list").json()
    assert parse_license(powers, now).licensed
    ekb.approvals.licensed = False
    powers = http.get("/api/openapi/v1/charge/powers/list").json()
    assert not parse_license(powers, now).licensed
    assert parse_license({"items": []}, now).why.startswith("单据审批")
    body = {"approveId": APPROVER_ID, "action": {"name": "freeflow.agree"}}
    ekb.approver.add_report("ID01aPpRoVe04", "B23990004", approvers=[APPROVER_ID])
    assert submit(http, ["ID01aPpRoVe04"], body).status_code == 400  # not licensed

    path = "/api/openapi/v2.2/flow/data/comment/$ID01aPpRoVe04"
    comment = {"params": {"comment": f"{{{SUBMITTER_ID}}} 发票?"}, "name": "freeflow.comment"}
    ok = http.post(path, params={"staffId": APPROVER_ID}, json=comment)
    assert ok.json() == {"id": "评论成功"}
    assert ekb.world.flows["ID01aPpRoVe04"]["logs"][-1]["action"] == "freeflow.comment"
    again = http.post(path, params={"staffId": APPROVER_ID}, json=comment)
    assert again.status_code == 400 and "评论太过频繁" in again.text
    assert http.post(path, params={"staffId": APPROVER2_ID}, json=comment).status_code == 403
    empty = {"params": {"comment": " "}, "name": "freeflow.comment"}
    assert http.post(path, params={"staffId": SUBMITTER_ID}, json=empty).status_code == 412
    ekb.approvals.strict_comments = True  # the documented rule, literally: 403 until approved
    clock.offset += 5.1  # past the 5 seconds between one person's comments
    strict = http.post(path, params={"staffId": APPROVER_ID}, json=comment)
    assert strict.status_code == 403 and "您没有评论权限" in strict.text
