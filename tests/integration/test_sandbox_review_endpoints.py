"""The stand-in's approver endpoints over 127.0.0.1: queues, names, deep links, outbound messages."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from sandbox.ekuaibao import APPROVER_ID, REPORT_ID, STRANGER_ID, EkuaibaoStandIn
from sandbox.ekuaibao_approver import APPROVER2_ID, approval_event


@pytest.fixture(scope="module")
def standin() -> Iterator[EkuaibaoStandIn]:
    with EkuaibaoStandIn() as running:
        yield running


def _token(standin: EkuaibaoStandIn) -> str:
    body = {"appKey": standin.app_key, "appSecurity": standin.app_security}
    answer = httpx.post(standin.base_url + "/api/openapi/v1/auth/getAccessToken", json=body)
    return str(answer.json()["value"]["accessToken"])


def test_sandbox_queue_count_names_and_errors(standin: EkuaibaoStandIn) -> None:
    token = _token(standin)
    base = standin.base_url + "/api/openapi"
    queue = httpx.get(f"{base}/v1.1/docs/byFlowId/${APPROVER_ID}", params={"accessToken": token})
    assert queue.json()["count"] == 1 and queue.json()["items"][0]["id"] == REPORT_ID
    unknown = httpx.get(f"{base}/v1.1/docs/byFlowId/$x:y", params={"accessToken": token})
    assert unknown.status_code == 400 and unknown.json()["errorMessage"] == "员工不存在"
    count = httpx.get(
        f"{base}/v1.1/staffs/getBacklogCount/$id",
        params={"accessToken": token, "staffParam": APPROVER_ID},
    )
    assert count.json()["items"]["type"]["approving"] == 1 and "peceving" in count.text
    dept = httpx.get(f"{base}/v1/departments/$djg8LshfUkfM00", params={"accessToken": token})
    assert dept.json()["value"]["name"]
    missing = httpx.get(f"{base}/v1/departments/$nope", params={"accessToken": token})
    assert missing.status_code == 400 and "未找到对应部门" in missing.text
    assert httpx.get(f"{base}/v1/departments/$nope").status_code == 403  # no token


def test_sandbox_deep_links_work_once(standin: EkuaibaoStandIn) -> None:
    token = _token(standin)
    url = standin.base_url + "/api/openapi/v1.1/provisional/getProvisionalAuth"
    body = {"uid": APPROVER_ID, "pageType": "form", "flowId": REPORT_ID, "authType": "CODE"}
    too_long = httpx.post(url, params={"accessToken": token}, json={**body, "expireDate": "999999"})
    assert too_long.json()["value"] == {
        "code": "false",
        "message": "expireDate最多只能指定7天内的秒数！",
    }
    made = httpx.post(url, params={"accessToken": token}, json={**body, "expireDate": "600"})
    link = made.json()["value"]["message"]
    assert made.json()["value"]["code"] == "true" and "pageType=form" in link
    assert "合思" in httpx.get(link).text
    assert "已过期" in httpx.get(link).text


def test_sandbox_outbound_sender_and_moves(standin: EkuaibaoStandIn) -> None:
    standin.approver.move_on(REPORT_ID, [APPROVER2_ID], stage="财务审批")
    event = approval_event(standin.world, "backlog.approving", REPORT_ID, APPROVER2_ID)
    assert event["userInfo"]["id"] == APPROVER2_ID and event["actionName"] == "待审批"
    assert standin.world.approve_states[REPORT_ID]["operators"][0]["id"] == APPROVER2_ID
    delivery = standin.approver.send(standin.base_url + "/nowhere", event, retries=2)
    assert delivery.state == "FAILURE" and len(standin.approver.deliveries) == 3
    standin.approver.delete_flow(REPORT_ID)
    token = _token(standin)
    gone = httpx.get(
        standin.base_url + "/api/openapi/v1.1/flowDetails",
        params={"accessToken": token, "flowId": REPORT_ID},
    )
    assert gone.status_code == 412 and "单据已删除" in gone.text
    assert STRANGER_ID not in json.dumps(standin.world.approve_states[REPORT_ID])
