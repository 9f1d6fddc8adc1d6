"""The approver's side of the API (REVIEW-API.md): reports, current approvers, staff and
names, the approver's queue and count, and single-use deep links.

Parsers check only what the review card uses; names (staff, departments, templates) are
cached for a day per process, since they change rarely and every card needs them.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tasks.ekuaibao.client import EkuaibaoClient
from tasks.ekuaibao.errors import BadRequest, Unavailable
from tasks.ekuaibao.models import MalformedPayload, parse_money

FLOW_DETAILS_PATH = "/api/openapi/v1.1/flowDetails"
#: Brackets percent-encoded, as the client's participants call sends them.
APPROVE_STATES_PATH = "/api/openapi/v2/approveStates/%5B{ids}%5D"
STAFF_IDS_PATH = "/api/openapi/v1/staffs/getStaffIds"
#: `$` is literal (REVIEW-API §1): `…/byFlowId/$<staffId>`.
PENDING_PATH = "/api/openapi/v1.1/docs/byFlowId/${staff_id}"
BACKLOG_COUNT_PATH = "/api/openapi/v1.1/staffs/getBacklogCount/$id"
DEPARTMENT_PATH = "/api/openapi/v1/departments/${id}"
SPECIFICATION_PATH = "/api/openapi/v1/specifications/${id}"
PROVISIONAL_PATH = "/api/openapi/v1.1/provisional/getProvisionalAuth"
#: Ids that go into a path: letters, digits and `_ - $ :` only (no `/`, `?`, `..`).
SAFE_ID = re.compile(r"[A-Za-z0-9_$:-]{1,80}")
NAMES_TTL_S = 24 * 3600
#: A deep link lives this long unless opened (then it is used up: authType CODE).
DEEP_LINK_S = 600


class FlowGone(Exception):
    """flowDetails said 单据不存在 or 单据已删除: the report cannot be read any more."""

    def __init__(self, flow_id: str, deleted: bool) -> None:
        super().__init__(f"report {flow_id} {'was deleted' if deleted else 'does not exist'}")
        self.deleted = deleted


@dataclass(frozen=True)
class Stage:
    """approveStates for one report: the node's name and who still has to act."""

    flow_id: str
    name: str
    operators: tuple[tuple[str, str], ...]  # (staff id, display name)

    def has(self, staff_id: str) -> bool:
        return any(op == staff_id for op, _ in self.operators)


@dataclass(frozen=True)
class Staff:
    staff_id: str
    name: str
    email: str  # lower-cased login email; "" when Ekuaibao has none
    department_id: str


@dataclass(frozen=True)
class Flow:
    """The fields of flowDetails' `value` that a review card shows (REVIEW-API §8)."""

    flow_id: str
    code: str
    title: str
    state: str
    form_type: str
    submitter_id: str
    department_id: str
    specification_id: str
    submitted_ms: int | None
    amount: Decimal | None
    currency: str
    updated_ms: int | None
    invoice_ids: tuple[str, ...]
    last_action: str
    last_comment: str
    last_operator: str
    #: Which buttons each staff member may press now (`actions`).
    actions: dict[str, tuple[str, ...]]
    #: The node waiting now (the last log entry's `nextId`): decisions are keyed by it.
    node_id: str = ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedPayload("expected text")
    return str(value).strip()


def _ms(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return int(value)


_AMOUNT_KEYS = {
    "loan": ("loanMoney",),
    "requisition": ("requisitionMoney",),
    "receipt": ("receiptMoney",),
    "payment": ("payMoney",),
}


def parse_flow(body: Any) -> Flow:
    value = body.get("value") if isinstance(body, dict) else None
    if not isinstance(value, dict) or not value.get("id"):
        raise MalformedPayload("flowDetails answer without value.id")
    form = value.get("form") or {}
    if not isinstance(form, dict):
        raise MalformedPayload("flowDetails form is not an object")
    form_type = _text(value.get("formType"))
    amount, currency = None, "CNY"
    for key in _AMOUNT_KEYS.get(form_type, ("expenseMoney", "payMoney")):
        money = form.get(key)
        if isinstance(money, dict):
            amount = parse_money(money)
            currency = _text(money.get("standardStrCode")) or "CNY"
            break
    invoice_ids: list[str] = []
    for detail in form.get("details") or []:
        invoice_form = ((detail or {}).get("feeTypeForm") or {}).get("invoiceForm") or {}
        for invoice in invoice_form.get("invoices") or []:
            invoice_id = _text((invoice or {}).get("invoiceId"))
            if invoice_id and invoice_id not in invoice_ids:
                invoice_ids.append(invoice_id)
    logs = [entry for entry in value.get("logs") or [] if isinstance(entry, dict)]
    last = logs[-1] if logs else {}
    attributes = last.get("attributes") or {}
    actions_raw = value.get("actions") or {}
    actions = {
        str(staff): tuple(str(a) for a in names)
        for staff, names in (actions_raw.items() if isinstance(actions_raw, dict) else [])
        if isinstance(names, list)
    }
    department = form.get("loanDepartment") if form_type == "loan" else None
    return Flow(
        flow_id=_text(value["id"]),
        code=_text(form.get("code")),
        title=_text(form.get("title")),
        state=_text(value.get("state")),
        form_type=form_type,
        submitter_id=_text(form.get("submitterId") or value.get("ownerId")),
        department_id=_text(department or form.get("expenseDepartment")),
        specification_id=_text(form.get("specificationId")),
        submitted_ms=_ms(form.get("submitDate")),
        amount=amount,
        currency=currency,
        updated_ms=_ms(value.get("updateTime")),
        invoice_ids=tuple(invoice_ids),
        last_action=_text(last.get("action")),
        last_comment=_text(attributes.get("comment")) if isinstance(attributes, dict) else "",
        last_operator=_text(last.get("operatorId")),
        actions=actions,
        node_id=_text(attributes.get("nextId")) if isinstance(attributes, dict) else "",
    )


def parse_stages(body: Any) -> dict[str, Stage]:
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise MalformedPayload("approveStates answer without items")
    found: dict[str, Stage] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("flowId"), str):
            raise MalformedPayload("approveStates item without flowId")
        operators = tuple(
            (_text(op.get("id")), _text(op.get("name")))
            for op in item.get("operators") or []
            if isinstance(op, dict) and op.get("id")
        )
        found[item["flowId"]] = Stage(item["flowId"], _text(item.get("stageName")), operators)
    return found


def parse_staff(body: Any) -> list[Staff]:
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise MalformedPayload("getStaffIds answer without items")
    return [
        Staff(
            staff_id=_text(item.get("id")),
            name=_text(item.get("name")),
            email=_text(item.get("email")).lower(),
            department_id=_text(item.get("defaultDepartment")),
        )
        for item in items
        if isinstance(item, dict) and item.get("id") and item.get("active") is not False
    ]


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


class ReviewApi:
    """The calls a review makes, over the one shared client (its token, budget, retries)."""

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
        _safe(flow_id, "flow id")
        try:
            body = self._client.get(FLOW_DETAILS_PATH, {"flowId": flow_id})
        except BadRequest as exc:
            if exc.status == 412 and ("已删除" in str(exc) or "不存在" in str(exc)):
                raise FlowGone(flow_id, deleted="已删除" in str(exc)) from None
            raise
        if not isinstance(body, dict) or not body.get("value"):
            raise FlowGone(flow_id, deleted=False)
        try:
            return parse_flow(body)
        except (MalformedPayload, ValueError, TypeError, AttributeError) as exc:
            raise Unavailable(f"Ekuaibao sent a malformed report: {exc}") from None

    def stages(self, flow_ids: Sequence[str]) -> dict[str, Stage]:
        ids = [_safe(i, "flow id") for i in dict.fromkeys(flow_ids)]
        found: dict[str, Stage] = {}
        for start in range(0, len(ids), 50):
            path = APPROVE_STATES_PATH.format(ids=",".join(ids[start : start + 50]))
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

    def staff_by_email(self, email: str) -> Staff | None:
        """The one active staff member with this email (two sharing it: none)."""
        key = email.strip().lower()
        if not key:
            return None
        hit, value = self._staff.get("mail:" + key)
        if hit:
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
        name = _text(value.get("name")) if isinstance(value, dict) else ""
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
            reason = _text((value or {}).get("message")) if isinstance(value, dict) else ""
            raise BadRequest(200, reason[:80] or "no link")
        url = value.get("message")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise Unavailable("Ekuaibao's deep link answer had no URL")
        return url

    @staticmethod
    def _parsed(parse: Callable[[Any], Any], body: Any) -> Any:
        try:
            return parse(body)
        except (MalformedPayload, ValueError, TypeError, AttributeError) as exc:
            raise Unavailable(f"Ekuaibao sent a malformed answer: {exc}") from None


__all__ = [
    "DEEP_LINK_S",
    "Flow",
    "FlowGone",
    "ReviewApi",
    "Staff",
    "Stage",
    "parse_flow",
    "parse_staff",
    "parse_stages",
]
