"""Who takes part in a report (API.md §8): staff by email, the submitter, the approvers.

Parsers only; the client does the HTTP. Staff ids are `<corpId>:<staffId>` and are
compared as opaque strings. Emails are personal data: nothing here logs them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tasks.ekuaibao.models import MalformedPayload

log = logging.getLogger(__name__)

#: Log actions whose operator acted as an approver (API.md §8; the docs' 审批动作 table).
#: Left out on purpose: submit/retract/delete/alter/select.approver (the submitter's own),
#: comment/print/remind (anyone who can already see the report), nullify/activate (admin).
APPROVER_ACTIONS = frozenset(
    {
        "freeflow.agree",  # 同意
        "freeflow.reject",  # 驳回
        "freeflow.back",  # 回退
        "freeflow.addnode",  # 转交
        "freeflow.shiftApprove",  # 转交审批
        "freeflow.addSignNode",  # 加签审批
        "freeflow.editApproving",  # 审批中修改
        "freeflow.pay",  # 支付 (the cashier node)
        "freeflow.receive",  # 确认收单
    }
)
#: `nextOperatorId` values that are not people.
_NOT_STAFF = frozenset({"", "ebot"})


@dataclass(frozen=True)
class FlowParticipants:
    """The people on one report: who submitted it and who approves or approved it.

    `approver_ids` joins the approvers in the history (`logs[]`), everyone the history
    handed the report to next, and the current approvers from approveStates.
    """

    flow_id: str
    submitter_id: str | None  # form.submitterId
    approver_ids: frozenset[str]
    owner_id: str | None = None  # value.ownerId: who started the flow (may submit for others)

    def is_submitter(self, staff_id: str) -> bool:
        return staff_id in (self.submitter_id, self.owner_id)

    def is_approver(self, staff_id: str) -> bool:
        return staff_id in self.approver_ids


def _staff_id(value: Any, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedPayload(f"{key} is not a staff id")
    value = value.strip()
    return None if value in _NOT_STAFF else value


def _staff_ids(values: Any, key: str) -> set[str]:
    if values is None:
        return set()
    if not isinstance(values, list):
        raise MalformedPayload(f"{key} is not a list")
    return {sid for v in values if (sid := _staff_id(v, key)) is not None}


def parse_flow_details(flow_id: str, body: Any) -> FlowParticipants | None:
    """`GET flowDetails` -> participants (history only); None for an empty `value`."""
    if not isinstance(body, dict):
        raise MalformedPayload("flowDetails answer is not an object")
    value = body.get("value")
    if not value:
        return None
    if not isinstance(value, dict):
        raise MalformedPayload("flowDetails value is not an object")
    form = value.get("form") or {}
    if not isinstance(form, dict):
        raise MalformedPayload("flowDetails form is not an object")
    logs = value.get("logs") or []
    if not isinstance(logs, list):
        raise MalformedPayload("flowDetails logs is not a list")
    approvers: set[str] = set()
    for entry in logs:
        if not isinstance(entry, dict):
            raise MalformedPayload("a flowDetails log entry is not an object")
        if entry.get("action") in APPROVER_ACTIONS:
            for key in ("operatorId", "byDelegateId"):
                if (sid := _staff_id(entry.get(key), key)) is not None:
                    approvers.add(sid)
        if (sid := _staff_id(entry.get("nextOperatorId"), "nextOperatorId")) is not None:
            approvers.add(sid)
        approvers |= _staff_ids(entry.get("nextOperatorIds"), "nextOperatorIds")
    return FlowParticipants(
        flow_id=str(value.get("id") or flow_id),
        submitter_id=_staff_id(form.get("submitterId"), "submitterId"),
        approver_ids=frozenset(approvers),
        owner_id=_staff_id(value.get("ownerId"), "ownerId"),
    )


def parse_approve_states(body: Any) -> dict[str, frozenset[str]]:
    """`GET approveStates/[ids]` -> flowId -> current approvers; unknown flows are absent."""
    if not isinstance(body, dict) or not isinstance(body.get("items", []), list):
        raise MalformedPayload("approveStates answer has no items list")
    found: dict[str, frozenset[str]] = {}
    for item in body.get("items") or []:
        if not isinstance(item, dict) or not isinstance(item.get("flowId"), str):
            raise MalformedPayload("an approveStates item has no flowId")
        operators = item.get("operators") or []
        if not isinstance(operators, list):
            raise MalformedPayload("approveStates operators is not a list")
        ids = {
            sid
            for op in operators
            if isinstance(op, dict) and (sid := _staff_id(op.get("id"), "operators.id"))
        }
        found[item["flowId"]] = found.get(item["flowId"], frozenset()) | ids
    return found


def parse_staff_by_email(requested: Sequence[str], body: Any) -> dict[str, str]:
    """`getStaffIds` (type MAIL) -> lower-cased email -> staff id, for the emails asked.

    Matched on the answer's `email`, case-insensitively. An answer without an email
    counts only when exactly one email was asked and one staff member came back.
    Inactive staff are skipped (Ekuaibao should not return them anyway), and an email
    shared by two staff members maps to neither: access must not depend on which wins.
    """
    if not isinstance(body, dict) or not isinstance(body.get("items", []), list):
        raise MalformedPayload("getStaffIds answer has no items list")
    wanted = {e.strip().lower() for e in requested if e.strip()}
    items = [i for i in body.get("items") or [] if isinstance(i, dict)]
    matches: dict[str, set[str]] = {}
    for item in items:
        staff_id = _staff_id(item.get("id"), "id")
        if staff_id is None or item.get("active") is False:
            continue
        email = item.get("email")
        key = email.strip().lower() if isinstance(email, str) else ""
        if not key and len(wanted) == 1 and len(items) == 1:
            key = next(iter(wanted))
        if key in wanted:
            matches.setdefault(key, set()).add(staff_id)
    found: dict[str, str] = {}
    for email, ids in matches.items():
        if len(ids) == 1:
            found[email] = next(iter(ids))
        else:
            log.warning("%d active Ekuaibao staff share one email; mapping it to none", len(ids))
    return found


def unique_emails(emails: Iterable[str]) -> list[str]:
    """Non-empty emails, first spelling kept, duplicates dropped case-insensitively."""
    seen: dict[str, str] = {}
    for email in emails:
        text = email.strip()
        if text:
            seen.setdefault(text.lower(), text)
    return list(seen.values())


__all__ = [
    "APPROVER_ACTIONS",
    "FlowParticipants",
    "parse_approve_states",
    "parse_flow_details",
    "parse_staff_by_email",
    "unique_emails",
]
