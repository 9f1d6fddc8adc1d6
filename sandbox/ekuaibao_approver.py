"""The approver side of the Ekuaibao stand-in: queues, approvers, names, deep links, and an
outbound sender that POSTs approval events the way Ekuaibao's 出站消息 does.

Shapes and failures follow the documented samples (`docs/byFlowId`, `approveStates`,
`getBacklogCount`, `departments/$id`, `specifications/$id`, `getProvisionalAuth`, the
outbound approval body). A test moves a report along with `move_on`, `delete_flow` or
`add_report`; every endpoint reads the same world, so they never disagree.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from sandbox.ekuaibao import HttpRequest, HttpResponse, SandboxInvoice, SandboxWorld, money

if TYPE_CHECKING:
    from sandbox.ekuaibao import EkuaibaoStandIn

__all__ = [
    "APPROVER2_EMAIL",
    "APPROVER2_ID",
    "DEPARTMENT_NAME",
    "TEMPLATE_NAME",
    "UNMAPPED_EMAIL",
    "UNMAPPED_ID",
    "OutboundDelivery",
    "ReviewEndpoints",
    "approval_event",
]

FLOW_DETAILS_PATH = "/api/openapi/v1.1/flowDetails"
FLOW_BY_CODE_PATH = "/api/openapi/v1.1/flowDetails/byCode"
_APPROVE_STATES_RE = re.compile(r"^/api/openapi/v2/approveStates/(.*)$")
_PENDING_RE = re.compile(r"^/api/openapi/v1\.1/docs/byFlowId/\$(.+)$")
_BACKLOG_COUNT_RE = re.compile(r"^/api/openapi/v1\.1/staffs/getBacklogCount/\$(.+)$")
_DEPARTMENT_RE = re.compile(r"^/api/openapi/v1/departments/\$(.+)$")
_SPECIFICATION_RE = re.compile(r"^/api/openapi/v1/specifications/\$(.+)$")
PROVISIONAL_PATH = "/api/openapi/v1.1/provisional/getProvisionalAuth"
DEEP_LINK_PATH = "/applet/thirdparty.html"
MAX_EXPIRE_S = 604800

#: A second approver, and one whose email no Slack user has.
APPROVER2_ID = "djg8LshfUkfM00:ID01sEc0nDApPr"
APPROVER2_EMAIL = "approver2@example.com"
UNMAPPED_ID = "djg8LshfUkfM00:ID01nOsLaCkUsR"
UNMAPPED_EMAIL = "no.slack@example.com"
DEPARTMENT_ID = "djg8LshfUkfM00"
DEPARTMENT_NAME = "沙盒公司"
TEMPLATE_NAME = "差旅报销单"
#: Stage names of approveStates by report state (REVIEW-API §3).
_FINAL_STAGES = {"rejected": "拒绝", "paid": "完成", "archived": "完成", "draft": "尚未提交"}


def _member(staff_id: str, name: str, code: str, email: str) -> dict[str, Any]:
    return {
        "id": staff_id,
        "name": name,
        "nickName": name,
        "code": code,
        "departments": [DEPARTMENT_ID],
        "defaultDepartment": DEPARTMENT_ID,
        "cellphone": "",
        "active": True,
        "userId": "",
        "email": email,
        "showEmail": email,
        "external": False,
        "authState": True,
    }


def approval_event(
    world: SandboxWorld,
    action: str,
    flow_id: str,
    recipient_id: str,
    *,
    node_id: str = "FLOW:1848031693:1061401484",
    action_name: str = "",
    email: str | None = None,
) -> dict[str, Any]:
    """The UI default body of an approval-event message (API §9) for one recipient; the
    email is the directory's unless a test forges another."""
    member = next((m for m in world.staff if m["id"] == recipient_id), None)
    return {
        "action": action,
        "actionName": action_name or _ACTION_NAMES.get(action, action),
        "userInfo": {
            "id": recipient_id,
            "name": (member or {}).get("name", "某人"),
            "cellphone": (member or {}).get("cellphone", ""),
            "email": email if email is not None else (member or {}).get("email", ""),
        },
        "flowId": flow_id,
        "nodeId": node_id,
    }


_ACTION_NAMES = {
    "backlog.approving": "待审批",
    "backlog.paying": "待支付",
    "flow.rejected": "被驳回",
    "flow.paid": "已支付/审批完成",
    "freeflow.remind": "催办",
    "urgent.remind": "加急",
    "timeout.remind": "超时提醒",
    "freeflow.retract": "单据撤回",
    "freeflow.delete": "单据删除",
}


@dataclass(frozen=True)
class OutboundDelivery:
    """One POST the sender made, and what the receiver answered (the admin log's row)."""

    url: str
    body: dict[str, Any]
    status: int
    state: str  # SUCCESS | FAILURE
    elapsed_ms: float
    at: float


class ReviewEndpoints:
    """The approver endpoints of one stand-in, over its world."""

    def __init__(self, standin: EkuaibaoStandIn) -> None:
        self._standin = standin
        self._lock = threading.Lock()
        world = standin.world
        world.staff.extend(
            [
                _member(APPROVER2_ID, "第二审批人", "1005", APPROVER2_EMAIL),
                _member(UNMAPPED_ID, "没有Slack的人", "1006", UNMAPPED_EMAIL),
            ]
        )
        self.departments: dict[str, str] = {DEPARTMENT_ID: DEPARTMENT_NAME}
        self.specifications: dict[str, str] = {}
        for flow in world.flows.values():
            spec = str(flow["form"].get("specificationId") or "")
            self.specifications[spec.split(":", 1)[0]] = TEMPLATE_NAME
        #: Flow ids that were deleted: flowDetails 412 单据已删除, stage 已删除.
        self.deleted: set[str] = set()
        #: When each todo reached its current approvers (the queue's newest-first order).
        self.since: dict[str, int] = {
            fid: int(flow.get("updateTime") or 0) for fid, flow in world.flows.items()
        }
        #: Single-use deep links handed out: token -> used.
        self._links: dict[str, bool] = {}
        self.deliveries: list[OutboundDelivery] = []
        self._http = httpx.Client(timeout=10)

    # -- moving reports along (tests and the demo) -----------------------------------------

    def add_report(
        self,
        flow_id: str,
        code: str,
        *,
        approvers: list[str],
        invoices: int = 3,
        title: str = "差旅报销",
        submitted_ms: int | None = None,
    ) -> list[str]:
        """A new report waiting for `approvers`, with `invoices` invoices copied from the
        sandbox's first VAT invoice (each its own id, lines, master and attachment), and an
        expense total that their totals add up to. Returns the invoice ids."""
        world = self._standin.world
        template_flow = world.flows["ID01vmXWPHarK6"]
        source = world.invoices["djg8LshfUkfM00:033002100311:23272058"]
        ids: list[str] = []
        entries: list[dict[str, Any]] = []
        total = Decimal(0)
        submitted = submitted_ms or int(time.time() * 1000)
        for n in range(invoices):
            invoice_id = f"djg8LshfUkfM00:0330021{code[-4:]}{n:02d}:{23270000 + n}"
            lines = tuple(
                {**copy.deepcopy(line), "id": f"{line['id']}-{code}-{n}", "masterId": invoice_id}
                for line in source.lines
            )
            master = copy.deepcopy(source.master or {})
            master.update({"id": invoice_id, "flowId": flow_id})
            master["flowForm"] = {**master.get("flowForm", {}), "code": code, "title": title}
            master["E_system_发票主体_发票号码"] = str(23270000 + n)
            master["E_system_发票主体_图片"] = f"发票-{code}-{n}.pdf"
            amount = Decimal(str(master["E_system_发票主体_价税合计"]["standard"]))
            total += amount
            attachment = None
            if source.attachment is not None:
                attachment = type(source.attachment)(
                    f"发票-{code}-{n}.pdf", "pdf", source.attachment.region
                )
                world.by_file_name[attachment.file_name] = attachment
            world.invoices[invoice_id] = SandboxInvoice(
                invoice_id, lines, "invoice", master, attachment
            )
            ids.append(invoice_id)
            entries.append(
                {
                    "invoiceId": invoice_id,
                    "invoiceItemId": [line["id"] for line in lines],
                    "invoiceType": "invoice",
                }
            )
        flow = copy.deepcopy(template_flow)
        flow["id"] = flow_id
        flow["form"].update(
            {
                "code": code,
                "title": title,
                "submitDate": submitted,
                "expenseMoney": money(total),
                "payMoney": money(total),
            }
        )
        detail = flow["form"]["details"][0]
        details = []
        for invoice_id, entry in zip(ids, entries, strict=True):
            item = copy.deepcopy(detail)
            item["feeTypeForm"]["invoiceForm"]["invoices"] = [
                {"invoiceId": invoice_id, "itemIds": entry["invoiceItemId"]}
            ]
            details.append(item)
        flow["form"]["details"] = details
        flow["updateTime"] = submitted + 1000
        flow["logs"][0]["time"] = submitted + 400
        with self._lock:
            world.flows[flow_id] = flow
            world.reports_by_id[flow_id] = entries
            world.reports_by_code[code] = entries
        self.move_on(flow_id, approvers, stage="部门经理审批", state="approving", at=submitted)
        return ids

    def move_on(
        self,
        flow_id: str,
        approvers: list[str],
        *,
        stage: str = "财务审批",
        state: str = "approving",
        action: str = "freeflow.agree",
        comment: str = "",
        at: int | None = None,
    ) -> None:
        """The report reaches `approvers` at `stage` (none and a final state: it is done)."""
        world = self._standin.world
        now = at or int(time.time() * 1000)
        with self._lock:
            flow = world.flows[flow_id]
            previous = world.approve_states.get(flow_id, {}).get("operators") or []
            if previous and at is None:
                log = copy.deepcopy(flow["logs"][-1])
                log.update(
                    {
                        "action": action,
                        "state": state,
                        "operatorId": previous[0]["id"],
                        "nextOperatorId": approvers[0] if approvers else "",
                        "nextOperatorIds": list(approvers),
                        "time": now,
                    }
                )
                here = _moved_to(flow["logs"])
                log["attributes"] = {
                    **log.get("attributes", {}),
                    "comment": comment,
                    "nodeId": here,
                    # the next node is a new one (approving elsewhere moves the report on)
                    "nextId": _node_id() if approvers else "",
                    "nextName": stage,
                }
                flow["logs"].append(log)
            flow["state"] = state
            flow["updateTime"] = now
            names = {m["id"]: m["name"] for m in world.staff}
            world.approve_states[flow_id] = {
                "flowId": flow_id,
                "stageName": _FINAL_STAGES.get(state, stage) if not approvers else stage,
                "operators": [
                    {"id": a, "name": names.get(a, "某人"), "code": ""} for a in approvers
                ],
                "delegateData": [],
            }
            flow["actions"] = {a: ["freeflow.agree", "freeflow.reject"] for a in approvers}
            self.since[flow_id] = now

    def edit_report(self, flow_id: str, amount: Decimal) -> None:
        """The submitter edits the report while it is being approved (审批中修改): a new
        total, and a new updateTime, at the same node."""
        with self._lock:
            flow = self._standin.world.flows[flow_id]
            flow["form"]["expenseMoney"] = money(amount)
            flow["form"]["payMoney"] = money(amount)
            flow["updateTime"] = max(int(time.time() * 1000), int(flow["updateTime"]) + 1)

    def delete_flow(self, flow_id: str) -> None:
        with self._lock:
            self.deleted.add(flow_id)
            self._standin.world.approve_states[flow_id] = {
                "flowId": flow_id,
                "stageName": "已删除",
                "operators": [],
                "delegateData": [],
            }

    # -- the outbound sender ---------------------------------------------------------------

    def send(
        self, url: str, body: dict[str, Any], *, retries: int = 0, pause_s: float = 0.0
    ) -> OutboundDelivery:
        """POST one message as Ekuaibao does: JSON, success on 200/201/204, up to `retries`
        more tries (at most 3) after a failure; each try is logged like the admin log."""
        data = json.dumps(body, ensure_ascii=False).encode()
        delivery: OutboundDelivery | None = None
        for attempt in range(min(retries, 3) + 1):
            started = time.perf_counter()
            try:
                answer = self._http.post(
                    url, content=data, headers={"Content-Type": "application/json;charset=UTF-8"}
                )
                status = answer.status_code
            except httpx.HTTPError:
                status = 0
            state = "SUCCESS" if status in (200, 201, 204) else "FAILURE"
            delivery = OutboundDelivery(
                url, body, status, state, (time.perf_counter() - started) * 1000, time.time()
            )
            with self._lock:
                self.deliveries.append(delivery)
            if state == "SUCCESS":
                break
            if attempt < retries and pause_s:
                time.sleep(pause_s)
        assert delivery is not None
        return delivery

    # -- routes ---------------------------------------------------------------------------

    def get_route(self, path: str) -> Callable[[HttpRequest], HttpResponse] | None:
        if path == FLOW_DETAILS_PATH:
            return self._flow_details
        if path == FLOW_BY_CODE_PATH:
            return self._flow_by_code
        if m := _PENDING_RE.match(path):
            staff = m.group(1)
            return lambda req: self._pending(staff, req)
        if m := _BACKLOG_COUNT_RE.match(path):
            kind = m.group(1)
            return lambda req: self._backlog_count(kind, req)
        if m := _DEPARTMENT_RE.match(path):
            dept = m.group(1)
            return lambda _req: self._department(dept)
        if m := _SPECIFICATION_RE.match(path):
            spec = m.group(1)
            return lambda req: self._specification(spec, req)
        return None

    def post_route(self, path: str) -> Callable[[Any], HttpResponse] | None:
        if path == PROVISIONAL_PATH:
            return self._provisional
        return None

    def open_link(self, req: HttpRequest) -> HttpResponse:
        """Opening a deep link: the first time it logs in; a CODE link opened again is dead."""
        token = req.query.get("code") or req.query.get("accessToken") or ""
        with self._lock:
            used = self._links.get(token)
            if used is None:
                return HttpResponse.text(404, "<html>404</html>", "text/html")
            self._links[token] = True
        if used:
            return HttpResponse.text(200, "临时访问地址已过期，请重新获取访问临时授权")
        return HttpResponse.text(200, "<html>合思 · 单据详情</html>", "text/html")

    @property
    def links_issued(self) -> list[str]:
        with self._lock:
            return list(self._links)

    def _error(self, status: int, message: str) -> HttpResponse:
        return HttpResponse.json(
            status,
            {
                "errorCode": status,
                "errorMessage": message,
                "errorDetails": None,
                "code": None,
                "data": None,
            },
        )

    def _flow_details(self, req: HttpRequest) -> HttpResponse:
        flow_id = req.query.get("flowId", "")
        if not flow_id:
            return self._error(400, "flowId不能为空")
        return self._flow_value(flow_id)

    def _flow_by_code(self, req: HttpRequest) -> HttpResponse:
        code = req.query.get("code", "")
        with self._lock:
            found = next(
                (f["id"] for f in self._standin.world.flows.values() if f["form"]["code"] == code),
                None,
            )
        if found is None:
            return self._error(412, "单据不存在")
        return self._flow_value(found)

    def _flow_value(self, flow_id: str) -> HttpResponse:
        with self._lock:
            if flow_id in self.deleted:
                return self._error(412, "单据已删除")
            value = copy.deepcopy(self._standin.world.flows.get(flow_id))
        if value is None:
            return self._error(412, "单据不存在")
        return HttpResponse.json(200, {"value": value})

    def _known_staff(self, staff_id: str) -> bool:
        return any(m["id"] == staff_id and m.get("active") for m in self._standin.world.staff)

    def _pending(self, staff_id: str, req: HttpRequest) -> HttpResponse:
        if not self._known_staff(staff_id):
            return self._error(400, "员工不存在")
        try:
            index = int(req.query.get("index") or 0)
            count = min(int(req.query.get("count") or 100), 100)
        except ValueError:
            return self._error(400, "参数错误")
        world = self._standin.world
        with self._lock:
            waiting = [
                fid
                for fid, state in world.approve_states.items()
                if fid not in self.deleted
                and fid in world.flows
                and any(op.get("id") == staff_id for op in state.get("operators") or [])
            ]
            waiting.sort(key=lambda fid: self.since.get(fid, 0), reverse=True)
            items = [copy.deepcopy(world.flows[fid]) for fid in waiting[index : index + count]]
        for item in items:  # the list's items lack feeType/feeDate (REVIEW-API §2.1)
            for detail in item["form"].get("details") or []:
                detail.pop("feeType", None)
                (detail.get("feeTypeForm") or {}).pop("feeDate", None)
        return HttpResponse.json(200, {"count": len(waiting), "items": items})

    def _backlog_count(self, kind: str, req: HttpRequest) -> HttpResponse:
        staff_id = req.query.get("staffParam", "")
        if kind != "id" or not self._known_staff(staff_id):
            return self._error(412, "未查找到此员工信息")
        world = self._standin.world
        with self._lock:
            approving = sum(
                1
                for fid, state in world.approve_states.items()
                if fid not in self.deleted
                and any(op.get("id") == staff_id for op in state.get("operators") or [])
            )
        types = {
            "print": 0,
            "paying": 0,
            "carbonCopy": 0,
            "sending": 0,
            "peceving": 0,
            "approving": approving,
        }
        return HttpResponse.json(200, {"items": {"count": approving, "type": types}})

    def _department(self, dept_id: str) -> HttpResponse:
        name = self.departments.get(dept_id)
        if name is None:
            return self._error(400, "未找到对应部门")
        return HttpResponse.json(
            200, {"value": {"id": dept_id, "name": name, "code": "1000", "active": True}}
        )

    def _specification(self, spec_id: str, req: HttpRequest) -> HttpResponse:
        if req.query.get("type", "bill") != "bill":
            return self._error(412, "不支持的模板类型")
        name = self.specifications.get(spec_id.split(":", 1)[0])
        if name is None:
            return self._error(412, "未知的模板")
        return HttpResponse.json(
            200, {"value": {"id": spec_id, "name": name, "originalId": spec_id, "active": True}}
        )

    def _provisional(self, body: Any) -> HttpResponse:
        def refuse(message: str) -> HttpResponse:
            return HttpResponse.json(200, {"value": {"code": "false", "message": message}})

        if not isinstance(body, dict):
            return refuse("参数错误")
        uid, page = body.get("uid") or body.get("userId"), body.get("pageType")
        if not uid or not self._known_staff(str(uid)):
            return refuse("员工不存在")
        if page not in ("frontPage", "home", "approve", "payment", "form", "backlogDetail"):
            return refuse("pageType参数错误")
        expire = body.get("expireDate")
        if not isinstance(expire, str) or not expire.isdigit():
            return refuse("expireDate参数错误")
        if int(expire) > MAX_EXPIRE_S:
            return refuse("expireDate最多只能指定7天内的秒数！")
        if (
            page in ("form", "backlogDetail")
            and body.get("flowId") not in self._standin.world.flows
        ):
            return refuse("单据不存在")
        token = secrets.token_urlsafe(18)
        with self._lock:
            self._links[token] = False
        base = self._standin.base_url
        flow = f"&flowId={quote(str(body.get('flowId') or ''))}" if body.get("flowId") else ""
        key = "code" if body.get("authType") == "CODE" else "accessToken"
        url = (
            f"{base}{DEEP_LINK_PATH}?{key}={token}&ekbCorpId={self._standin.corp_id}"
            f"&pageType={page}{flow}"
        )
        return HttpResponse.json(200, {"value": {"message": url, "code": "true"}})


def _node_id() -> str:
    """A node instance id the way Ekuaibao writes them (float-like, kept as text)."""
    return f"FLOW:{secrets.randbelow(10**9)}E9:{secrets.randbelow(10**8)}"


def _moved_to(logs: list[dict[str, Any]]) -> str:
    for log in reversed(logs):
        if log.get("action") != "freeflow.comment":
            return str((log.get("attributes") or {}).get("nextId") or "")
    return ""
