"""What the approver's side of the API answers about reports, parsed: the report, its
stages and staff.

Parsers check only what the approvals room uses (REVIEW-API.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tasks.ekuaibao.models import MalformedPayload, parse_money


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
    #: Where the last log entry that moves the report sent it (`nextId`; "" when that
    #: entry has none), and that node's name: `waiting_at` checks it against approveStates.
    node_id: str = ""
    node_name: str = ""

    @property
    def version(self) -> str:
        """What a decision modal shows of the report (`updateTime|amount|invoices`): an edit
        changes it, so a decision binds to what the approver saw."""
        amount = format(self.amount, "f")[:40] if self.amount is not None else "-"
        return f"{self.updated_ms or 0}|{amount}|{len(self.invoice_ids)}"


#: Log actions that never move a report to another node: comments, reminders, printing,
#: copies, edits while approving. Their entries carry no `nextId`.
NOT_MOVING = frozenset(
    "freeflow." + action
    for action in (
        "comment",
        "remind",
        "urge",
        "print",
        "printed",
        "copy",
        "carbonCopy",
        "modify",
        "editApproving",
    )
)


def moved_to(logs: list[dict[str, Any]]) -> tuple[str, str]:
    """(nextId, nextName) of the last entry that moves the report; ("", "") when that
    entry says nothing of where (the node is then unknown, never guessed)."""
    for entry in reversed(logs):
        if as_text(entry.get("action")) in NOT_MOVING:
            continue
        attributes = entry.get("attributes")
        if not isinstance(attributes, dict):
            return "", ""
        return as_text(attributes.get("nextId")), as_text(attributes.get("nextName"))
    return "", ""


def as_text(value: Any) -> str:
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
    form_type = as_text(value.get("formType"))
    amount, currency = None, "CNY"
    for key in _AMOUNT_KEYS.get(form_type, ("expenseMoney", "payMoney")):
        money = form.get(key)
        if isinstance(money, dict):
            amount = parse_money(money)
            currency = as_text(money.get("standardStrCode")) or "CNY"
            break
    invoice_ids: list[str] = []
    for detail in form.get("details") or []:
        invoice_form = ((detail or {}).get("feeTypeForm") or {}).get("invoiceForm") or {}
        for invoice in invoice_form.get("invoices") or []:
            invoice_id = as_text((invoice or {}).get("invoiceId"))
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
    node_id, node_name = moved_to(logs)
    return Flow(
        flow_id=as_text(value["id"]),
        code=as_text(form.get("code")),
        title=as_text(form.get("title")),
        state=as_text(value.get("state")),
        form_type=form_type,
        submitter_id=as_text(form.get("submitterId") or value.get("ownerId")),
        department_id=as_text(department or form.get("expenseDepartment")),
        specification_id=as_text(form.get("specificationId")),
        submitted_ms=_ms(form.get("submitDate")),
        amount=amount,
        currency=currency,
        updated_ms=_ms(value.get("updateTime")),
        invoice_ids=tuple(invoice_ids),
        last_action=as_text(last.get("action")),
        last_comment=as_text(attributes.get("comment")) if isinstance(attributes, dict) else "",
        last_operator=as_text(last.get("operatorId")),
        actions=actions,
        node_id=node_id,
        node_name=node_name,
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
            (as_text(op.get("id")), as_text(op.get("name")))
            for op in item.get("operators") or []
            if isinstance(op, dict) and op.get("id")
        )
        found[item["flowId"]] = Stage(item["flowId"], as_text(item.get("stageName")), operators)
    return found


def parse_staff(body: Any) -> list[Staff]:
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise MalformedPayload("getStaffIds answer without items")
    return [
        Staff(
            staff_id=as_text(item.get("id")),
            name=as_text(item.get("name")),
            email=as_text(item.get("email")).lower(),
            department_id=as_text(item.get("defaultDepartment")),
        )
        for item in items
        if isinstance(item, dict) and item.get("id") and item.get("active") is not False
    ]


__all__ = [
    "NOT_MOVING",
    "Flow",
    "FlowGone",
    "Staff",
    "Stage",
    "moved_to",
    "parse_flow",
    "parse_staff",
    "parse_stages",
]
