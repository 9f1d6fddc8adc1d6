"""Deciding in the Ekuaibao stand-in: approve/reject (`backlog/data`), its result, the
tenant's charge powers and comments, over the same world as `sandbox.ekuaibao_approver`.

As documented (REVIEW-API §4, §9): a submit only queues work (`residue`), which a timer
processes a moment later; each report can fail on its own (`您没有权限处理该待办事项`,
`未选择下级审批人`); the result is keyed by approver and readable for 60 s; at most 10
reports a call. Approving really moves the report: its state, approveStates and logs.
Behaviours the vendor leaves open are marked "sandbox's choice".
"""

from __future__ import annotations

import copy
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.ekuaibao import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from sandbox.ekuaibao import EkuaibaoStandIn

_SUBMIT_RE = re.compile(r"^/api/openapi/v1/backlog/data/\[(.*)\]$")
RESULT_PATH = "/api/openapi/v1/backlog/data/result"
POWERS_PATH = "/api/openapi/v1/charge/powers/list"
_COMMENT_RE = re.compile(r"^/api/openapi/v2\.2/flow/data/comment/\$(.+)$")
POWER_CODE = "TICKET_AUDIT_switch"
MAX_FLOWS = 10
RESULT_WINDOW_S = 60.0
#: Where an approved report goes when a test planned nothing else.
CASHIER_STAGE = "出纳支付"


@dataclass(frozen=True)
class Submit:
    """One `backlog/data` call as it arrived."""

    at: float
    approve_id: str
    flow_ids: tuple[str, ...]
    action: dict[str, Any]
    status: int


@dataclass
class Node:
    """The next node a report goes to when approved: its name, approvers and state."""

    name: str
    approvers: list[str]
    state: str = "approving"
    node_id: str = field(
        default_factory=lambda: f"FLOW:{secrets.randbelow(10**9)}E9:{secrets.randbelow(10**8)}"
    )


class ApprovalEndpoints:
    def __init__(self, standin: EkuaibaoStandIn) -> None:
        self._standin = standin
        self._lock = threading.Lock()
        #: 单据审批 bought and in use; False: `charge/powers/list` shows it expired.
        self.licensed = True
        #: How long queued work waits before it is processed.
        self.process_delay_s = 0.2
        #: The submit call itself takes this long first (a test kills the worker meanwhile).
        self.submit_stall_s = 0.0
        #: Flows whose next node needs a manually chosen approver.
        self.needs_select: set[str] = set()
        #: What comes after the current node, per flow (default: the cashier, APPROVER2).
        self.plans: dict[str, list[Node]] = {}
        #: Comments only from the creator and approvers who already approved (the
        #: documented 403 rule, literally); off: current approvers may comment too.
        self.strict_comments = False
        self.submits: list[Submit] = []
        self.comments: list[tuple[str, str, str]] = []  # (flow, staff, text)
        self._results: dict[str, tuple[float, dict[str, Any]]] = {}
        self._last_comment: dict[tuple[str, str], float] = {}
        self.arrived = threading.Event()

    # -- routing ---------------------------------------------------------------------------

    def route(self, method: str, path: str) -> Any:
        if method == "POST" and (m := _SUBMIT_RE.match(path)):
            ids = m.group(1)
            return lambda req, body: self._submit(ids, req, body)
        if method == "GET" and path == RESULT_PATH:
            return lambda req, _body: self._result(req)
        if method == "GET" and path == POWERS_PATH:
            return lambda _req, _body: self._powers()
        if method == "POST" and (m := _COMMENT_RE.match(path)):
            flow_id = m.group(1)
            return lambda req, body: self._comment(flow_id, req, body)
        return None

    # -- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _error(status: int, message: str) -> HttpResponse:
        return HttpResponse.json(
            status,
            {"errorCode": status, "errorMessage": message, "errorDetails": None, "code": None},
        )

    def _staff(self, staff_id: str) -> bool:
        return any(m["id"] == staff_id and m.get("active") for m in self._standin.world.staff)

    def _operators(self, flow_id: str) -> list[str]:
        state = self._standin.world.approve_states.get(flow_id) or {}
        return [str(op.get("id")) for op in state.get("operators") or []]

    def current_node(self, flow_id: str) -> str:
        """Where the last entry that moves the report sent it (comments move nothing)."""
        for log in reversed(self._standin.world.flows[flow_id].get("logs") or []):
            if log.get("action") != "freeflow.comment":
                return str((log.get("attributes") or {}).get("nextId") or "")
        return ""

    # -- charge powers -----------------------------------------------------------------------

    def _powers(self) -> HttpResponse:
        expire = "2099-12-31 23:59:59" if self.licensed else "2024-01-30 23:59:59"
        item = {
            "id": "ID01oHKqVA68xx",
            "corporationId": self._standin.corp_id,
            "powerCode": POWER_CODE,
            "state": "using" if self.licensed else "expired",
            "chargeInfo": {"type": "date", "powerCode": POWER_CODE, "expireTime": expire},
            "power": {"name": "单据审批", "code": POWER_CODE, "authorizeType": "BYTIME"},
        }
        return HttpResponse.json(200, {"items": [item]})

    # -- submit and result -----------------------------------------------------------------

    def _submit(self, ids: str, req: HttpRequest, body: Any) -> HttpResponse:
        self.arrived.set()
        if self.submit_stall_s:
            time.sleep(self.submit_stall_s)
        flow_ids = tuple(i for i in ids.split(",") if i)
        action = (body or {}).get("action") if isinstance(body, dict) else None
        approve_id = str((body or {}).get("approveId") or "") if isinstance(body, dict) else ""
        answer = self._check_submit(req, flow_ids, approve_id, action)
        with self._lock:
            self.submits.append(
                Submit(
                    self._standin.clock(), approve_id, flow_ids, dict(action or {}), answer.status
                )
            )
        return answer

    def _check_submit(
        self, req: HttpRequest, flow_ids: tuple[str, ...], approve_id: str, action: Any
    ) -> HttpResponse:
        if req.query.get("messageCode") != "debug" or req.query.get("powerCode") != POWER_CODE:
            return self._error(400, "参数错误")  # sandbox's choice: fixed values missing
        if not self.licensed:
            return self._error(400, "未开通单据审批")  # sandbox's choice
        if not approve_id or not self._staff(approve_id):
            return self._error(400, "未设置指定人员")
        if not flow_ids or len(flow_ids) > MAX_FLOWS:
            return self._error(400, "单次最多处理10张单据")  # sandbox's choice of words
        if not isinstance(action, dict) or action.get("name") not in (
            "freeflow.agree",
            "freeflow.reject",
            "freeflow.nullify",
        ):
            return self._error(400, "action参数错误")
        if action["name"] == "freeflow.reject" and action.get("resubmitMethod") not in (
            "FROM_START",
            "TO_REJECTOR",
        ):
            return self._error(400, "驳回时resubmitMethod必填")
        world = self._standin.world
        with self._lock:
            approving = [
                f for f in flow_ids if (world.flows.get(f) or {}).get("state") == "approving"
            ]
        if not approving:
            return self._error(400, "无待办审批事项")
        value = {
            "total": len(approving),
            "success": 0,
            "error": 0,
            "residue": len(approving),
            "errorMsg": None,
            "lastBacklogId": "",
            "filter": len(flow_ids) - len(approving),
        }
        with self._lock:
            self._results[approve_id] = (self._standin.clock(), copy.deepcopy(value))
        timer = threading.Timer(
            self.process_delay_s, self._process, (approve_id, tuple(approving), dict(action))
        )
        timer.daemon = True
        timer.start()
        return HttpResponse.json(200, {"value": value})

    def _process(self, approve_id: str, flow_ids: tuple[str, ...], action: dict[str, Any]) -> None:
        errors: list[dict[str, Any]] = []
        world = self._standin.world
        for flow_id in flow_ids:
            with self._lock:
                flow = world.flows[flow_id]
                code, title = flow["form"].get("code", ""), flow["form"].get("title", "")
                operators = self._operators(flow_id)
            problem = None
            if flow.get("state") != "approving" or approve_id not in operators:
                problem = "您没有权限处理该待办事项"
            elif action["name"] == "freeflow.agree" and flow_id in self.needs_select:
                problem = "未选择下级审批人"
            if problem:
                errors.append(
                    {
                        "flowCode": code,
                        "flowTitle": title,
                        "msg": problem,
                        "flowId": flow_id,
                        "backlogId": f"bl-{flow_id}",
                    }
                )
                continue
            self._apply(flow_id, approve_id, action)
        with self._lock:
            value = {
                "total": len(flow_ids),
                "success": len(flow_ids) - len(errors),
                "error": len(errors),
                "residue": 0,
                "errorMsg": errors or None,
                "lastBacklogId": "",
                "filter": 0,
            }
            at = self._results.get(approve_id, (self._standin.clock(), {}))[0]
            self._results[approve_id] = (at, value)

    def _apply(self, flow_id: str, staff_id: str, action: dict[str, Any]) -> None:
        """The decision itself: a log line, and the report's next node (or its end)."""
        world, review = self._standin.world, self._standin.approver
        name = action["name"]
        with self._lock:
            flow = world.flows[flow_id]
            node = self.current_node(flow_id)
            operators = [o for o in self._operators(flow_id) if o != staff_id]
            stage_name = (world.approve_states.get(flow_id) or {}).get("stageName", "")
        if name == "freeflow.agree" and operators:  # countersign: the others still act
            nxt_name, nxt_ids, state, nxt_node = stage_name, operators, "approving", node
        elif name == "freeflow.agree":
            plan = self.plans.get(flow_id)
            step = plan.pop(0) if plan else Node(CASHIER_STAGE, [_cashier()], "paying")
            nxt_name, nxt_ids, state, nxt_node = step.name, step.approvers, step.state, step.node_id
            if not step.approvers:
                state = "paid"
        elif name == "freeflow.reject":
            nxt_name, nxt_ids, state = "尚未提交", [], "rejected"
            nxt_node = str(action.get("rejectTo") or "SUBMIT")
        else:
            nxt_name, nxt_ids, state, nxt_node = "已作废", [], "nullify", ""
        review.move_on(flow_id, nxt_ids, stage=nxt_name, state=state, action=name)
        now = int(self._standin.clock() * 1000)
        with self._lock:
            log = flow["logs"][-1]
            log.update({"operatorId": staff_id, "time": now})
            log["attributes"] = {
                **(log.get("attributes") or {}),
                "nodeId": node,
                "nodeName": stage_name,
                "nextId": nxt_node,
                "nextName": nxt_name,
                "comment": str(action.get("comment") or ""),
                "resubmitMethod": action.get("resubmitMethod") or "",
            }
            if name == "freeflow.agree" and nxt_ids:
                flow["actions"] = {a: ["freeflow.agree", "freeflow.reject"] for a in nxt_ids}

    def _result(self, req: HttpRequest) -> HttpResponse:
        approve_id = req.query.get("approveId", "")
        if req.query.get("powerCode") != POWER_CODE:
            return self._error(400, "参数错误")
        if not approve_id or not self._staff(approve_id):
            return self._error(400, "未设置指定人员")
        with self._lock:
            found = self._results.get(approve_id)
        if found is None or self._standin.clock() - found[0] > RESULT_WINDOW_S:
            # sandbox's choice for the undocumented "after 60 s": an empty batch
            empty = {"total": 0, "success": 0, "error": 0, "residue": 0, "errorMsg": None}
            return HttpResponse.json(200, {"value": {**empty, "lastBacklogId": "", "filter": 0}})
        return HttpResponse.json(200, {"value": copy.deepcopy(found[1])})

    def result_of(self, approve_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._results.get(approve_id)
            return copy.deepcopy(found[1]) if found else None

    def age_results(self, seconds: float) -> None:
        """Pretend every stored result is `seconds` older (the 60-second window)."""
        with self._lock:
            self._results = {k: (at - seconds, v) for k, (at, v) in self._results.items()}

    # -- comments --------------------------------------------------------------------------

    def _comment(self, flow_id: str, req: HttpRequest, body: Any) -> HttpResponse:
        staff_id = req.query.get("staffId", "")
        if not staff_id:
            return self._error(400, "staffId不能为空!!!")
        if not self._staff(staff_id):
            return self._error(400, "staffId不存在")
        if not isinstance(body, dict) or body.get("name") != "freeflow.comment":
            return self._error(412, "JSON请求参数不正确")
        params = body.get("params") or {}
        text = params.get("comment") if isinstance(params, dict) else None
        if not isinstance(text, str) or not text.strip():
            return self._error(412, "评论内容不能为空")
        world = self._standin.world
        with self._lock:
            flow = world.flows.get(flow_id)
            if flow is None:
                return self._error(412, "单据不存在")
            approved = {
                str(log.get("operatorId"))
                for log in flow.get("logs") or []
                if log.get("action") == "freeflow.agree"
            }
            creator = str(flow["form"].get("submitterId") or flow.get("ownerId") or "")
            allowed = {creator} | approved
            if not self.strict_comments:
                allowed |= set(self._operators(flow_id))
            if staff_id not in allowed:
                return self._error(403, "您没有评论权限")
            last = self._last_comment.get((flow_id, staff_id), 0.0)
            if self._standin.clock() - last < 5:
                return self._error(400, "评论太过频繁")
            self._last_comment[(flow_id, staff_id)] = self._standin.clock()
            # As Ekuaibao writes it: a comment moves nothing, so its entry has no nodeId,
            # nextId or next operators (sandbox's choice: updateTime is left alone).
            entry: dict[str, Any] = {
                "action": "freeflow.comment",
                "state": flow.get("state"),
                "operatorId": staff_id,
                "byDelegateId": None,
                "time": int(self._standin.clock() * 1000),
                "attributes": {
                    "comment": text,
                    "keepItSecret": bool(params.get("keepItSecret")),
                },
                "attachments": [],
            }
            flow["logs"].append(entry)
            self.comments.append((flow_id, staff_id, text))
        return HttpResponse.json(200, {"id": "评论成功"})


def _cashier() -> str:
    from sandbox.ekuaibao_approver import APPROVER2_ID

    return APPROVER2_ID


__all__ = ["CASHIER_STAGE", "ApprovalEndpoints", "Node", "Submit"]
