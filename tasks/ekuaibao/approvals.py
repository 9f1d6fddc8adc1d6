"""The approver's side of the API (REVIEW-API.md), one surface over the one shared client
(its token, budget and retries): reports (one flowDetails read, parsed once), current
approvers, staff and names, the approver's queue, single-use deep links, and the calls
that decide: is 单据审批 licensed, approve/reject (`backlog/data`, which only queues the
work), its result (60 s, keyed by approver), and comments.

Acting calls go out once (`post_once`): a timeout is "unknown", never a reason to send
the decision again. Names (staff, departments, templates) are cached for a day per
process, since they change rarely and every card needs them; whatever grants power reads
staff uncached.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from tasks.contracts import SAFE_ID
from tasks.ekuaibao.approval_models import (
    Flow,
    FlowGone,
    Staff,
    Stage,
    as_text,
    parse_flow,
    parse_staff,
    parse_stages,
)
from tasks.ekuaibao.client import (
    APPROVE_STATES_PATH,
    FLOW_DETAILS_PATH,
    STAFF_IDS_PATH,
    EkuaibaoClient,
)
from tasks.ekuaibao.decision_models import (
    POWER_CODE,
    SHANGHAI,
    Batch,
    License,
    Report,
    parse_batch,
    parse_license,
    parse_logs,
)
from tasks.ekuaibao.errors import BadRequest, Unavailable
from tasks.ekuaibao.models import MalformedPayload

_T = TypeVar("_T")

#: `$` is literal (REVIEW-API §1): `…/byFlowId/$<staffId>`.
PENDING_PATH = "/api/openapi/v1.1/docs/byFlowId/${staff_id}"
BACKLOG_COUNT_PATH = "/api/openapi/v1.1/staffs/getBacklogCount/$id"
DEPARTMENT_PATH = "/api/openapi/v1/departments/${id}"
SPECIFICATION_PATH = "/api/openapi/v1/specifications/${id}"
PROVISIONAL_PATH = "/api/openapi/v1.1/provisional/getProvisionalAuth"
SUBMIT_PATH = "/api/openapi/v1/backlog/data/%5B{ids}%5D"
RESULT_PATH = "/api/openapi/v1/backlog/data/result"
POWERS_PATH = "/api/openapi/v1/charge/powers/list"
COMMENT_PATH = "/api/openapi/v2.2/flow/data/comment/${flow_id}"
#: The vendor's limit per submit call.
MAX_FLOWS = 10
NAMES_TTL_S = 24 * 3600
#: A deep link lives this long unless opened (then it is used up: authType CODE).
DEEP_LINK_S = 600


class _TtlCache:
    def __init__(self, ttl_s: float, clock: Callable[[], float]) -> None:
        self._ttl, self._clock = ttl_s, clock
        self._items: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bool, Any]:
        with self._lock:
            hit = self._items.get(key)
        if hit is None or hit[0] < self._clock():
            return False, None
        return True, hit[1]

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[key] = (self._clock() + self._ttl, value)


def _safe(value: str, what: str) -> str:
    if not SAFE_ID.fullmatch(value):
        raise ValueError(f"not an Ekuaibao {what}")
    return value


def flow_details(client: EkuaibaoClient, flow_id: str) -> dict[str, Any]:
    """One report's flowDetails answer. `FlowGone` when Ekuaibao says it does not exist or
    was deleted (a 412 with 不存在 or 已删除) or answers with an empty `value`."""
    try:
        body = client.get(FLOW_DETAILS_PATH, {"flowId": flow_id})
    except BadRequest as exc:
        if exc.status == 412 and ("已删除" in str(exc) or "不存在" in str(exc)):
            raise FlowGone(flow_id, deleted="已删除" in str(exc)) from None
        raise
    if not isinstance(body, dict) or not body.get("value"):
        raise FlowGone(flow_id, deleted=False)
    return body


class ApprovalsApi:
    """Every call the approvals room makes; each answer parsed here, and a malformed one
    is `Unavailable` (Ekuaibao's fault, retried as an outage), mapped in `_parsed`."""

    def __init__(
        self,
        client: EkuaibaoClient,
        *,
        clock: Callable[[], float] = time.time,
        names_ttl_s: float = NAMES_TTL_S,
    ) -> None:
        self._client = client
        self._staff = _TtlCache(names_ttl_s, clock)
        self._names = _TtlCache(names_ttl_s, clock)

    def flow(self, flow_id: str) -> Flow:
        """The report as a card shows it (its log is not parsed)."""
        return self._parsed(parse_flow, flow_details(self._client, _safe(flow_id, "flow id")))

    def report(self, flow_id: str) -> Report:
        """The report with its log, read fresh: what a decision is checked and confirmed on."""
        body = flow_details(self._client, _safe(flow_id, "flow id"))
        return self._parsed(lambda b: Report(parse_flow(b), parse_logs(b)), body)

    def stages(self, flow_ids: Sequence[str]) -> dict[str, Stage]:
        ids = [_safe(i, "flow id") for i in dict.fromkeys(flow_ids)]
        found: dict[str, Stage] = {}
        for start in range(0, len(ids), 50):
            path = APPROVE_STATES_PATH.format(flow_ids=",".join(ids[start : start + 50]))
            found.update(self._parsed(parse_stages, self._client.get(path, {})))
        return found

    def staff(self, staff_ids: Iterable[str]) -> dict[str, Staff]:
        """Active staff by id, cached; unknown or inactive ones are absent."""
        found: dict[str, Staff] = {}
        missing: list[str] = []
        for staff_id in dict.fromkeys(staff_ids):
            hit, value = self._staff.get(staff_id)
            if hit:
                if value is not None:
                    found[staff_id] = value
            elif staff_id:
                missing.append(staff_id)
        for start in range(0, len(missing), 100):
            chunk = missing[start : start + 100]
            body = self._client.post(STAFF_IDS_PATH, {"type": "STAFFID", "conditionIds": chunk})
            got = {s.staff_id: s for s in self._parsed(parse_staff, body)}
            for staff_id in chunk:
                self._staff.put(staff_id, got.get(staff_id))
                if staff_id in got:
                    found[staff_id] = got[staff_id]
        return found

    def staff_by_email(self, email: str, *, cached: bool = True) -> Staff | None:
        """The one active staff member with this email (two sharing it: none). Whatever
        grants power reads it with `cached=False`: a deactivated or re-assigned email must
        stop working at once, not a day later."""
        key = email.strip().lower()
        if not key:
            return None
        hit, value = self._staff.get("mail:" + key)
        if hit and cached:
            return value  # type: ignore[no-any-return]
        body = self._client.post(STAFF_IDS_PATH, {"type": "MAIL", "conditionIds": [key]})
        matches = [s for s in self._parsed(parse_staff, body) if s.email == key]
        staff = matches[0] if len(matches) == 1 else None
        self._staff.put("mail:" + key, staff)
        return staff

    def department_name(self, department_id: str) -> str | None:
        return self._name(DEPARTMENT_PATH, department_id, {"departmentBy": "id"})

    def template_name(self, specification_id: str) -> str | None:
        return self._name(SPECIFICATION_PATH, specification_id, {"type": "bill"})

    def _name(self, path: str, item_id: str, query: dict[str, str]) -> str | None:
        if not item_id or not SAFE_ID.fullmatch(item_id):
            return None
        hit, value = self._names.get(path + item_id)
        if hit:
            return value  # type: ignore[no-any-return]
        try:
            body = self._client.get(path.format(id=item_id), query)
        except BadRequest:  # 未找到对应部门 / 未知的模板: show the card without the name
            body = None
        value = (body or {}).get("value") if isinstance(body, dict) else None
        name = as_text(value.get("name")) if isinstance(value, dict) else ""
        self._names.put(path + item_id, name or None)
        return name or None

    def pending(self, staff_id: str, count: int = 100) -> tuple[int, list[Flow]]:
        """What waits for this approver, newest todo first: (total, up to `count`)."""
        path = PENDING_PATH.format(staff_id=_safe(staff_id, "staff id"))
        body = self._client.get(path, {"index": "0", "count": str(min(count, 100))})
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise Unavailable("Ekuaibao's queue answer had no items list")
        flows = [self._parsed(parse_flow, {"value": item}) for item in items]
        total = body.get("count")
        return (total if isinstance(total, int) else len(flows)), flows

    def deep_link(self, staff_id: str, flow_id: str, expire_s: int = DEEP_LINK_S) -> str:
        """A single-use link that opens the report in Ekuaibao as this approver. Secret:
        whoever opens it is logged in as them."""
        body = self._client.post(
            PROVISIONAL_PATH,
            {
                "uid": _safe(staff_id, "staff id"),
                "pageType": "form",
                "flowId": _safe(flow_id, "flow id"),
                "expireDate": str(expire_s),
                "authType": "CODE",
                "isApplet": False,
            },
        )
        value = body.get("value") if isinstance(body, dict) else None
        if not isinstance(value, dict) or str(value.get("code")) != "true":
            reason = as_text((value or {}).get("message")) if isinstance(value, dict) else ""
            raise BadRequest(200, reason[:80] or "no link")
        url = value.get("message")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise Unavailable("Ekuaibao's deep link answer had no URL")
        return url

    def license(self) -> License:
        body = self._client.get(POWERS_PATH, {})
        return self._parsed(lambda b: parse_license(b, dt.datetime.now(SHANGHAI)), body)

    def submit(self, staff_id: str, flow_ids: list[str], action: dict[str, str]) -> Batch:
        """Queue one decision for up to 10 reports, as `staff_id`. Sent once."""
        if not 1 <= len(flow_ids) <= MAX_FLOWS:
            raise ValueError("1 to 10 reports a call")
        path = SUBMIT_PATH.format(ids=",".join(_safe(f, "flow id") for f in flow_ids))
        body = self._client.post_once(
            path,
            {"messageCode": "debug", "powerCode": POWER_CODE},
            {"approveId": _safe(staff_id, "staff id"), "action": action},
        )
        return self._parsed(parse_batch, body)

    def result(self, staff_id: str) -> Batch:
        body = self._client.get(
            RESULT_PATH, {"approveId": _safe(staff_id, "staff id"), "powerCode": POWER_CODE}
        )
        return self._parsed(parse_batch, body)

    def comment(self, flow_id: str, staff_id: str, text: str) -> None:
        path = COMMENT_PATH.format(flow_id=_safe(flow_id, "flow id"))
        body = {
            "params": {"comment": text, "attachments": [], "keepItSecret": False},
            "name": "freeflow.comment",
        }
        self._client.post_once(path, {"staffId": _safe(staff_id, "staff id")}, body)

    @staticmethod
    def _parsed(parse: Callable[[Any], _T], body: Any) -> _T:
        try:
            return parse(body)
        except (MalformedPayload, ValueError, TypeError, AttributeError) as exc:
            raise Unavailable(f"Ekuaibao sent a malformed answer: {exc}") from None


__all__ = ["DEEP_LINK_S", "MAX_FLOWS", "SAFE_ID", "ApprovalsApi"]
