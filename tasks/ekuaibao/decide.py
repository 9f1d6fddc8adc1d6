"""The calls that decide (REVIEW-API §1, §4, §9): is 单据审批 licensed, approve/reject
(`backlog/data`, only queues work), its result (60 s, keyed by approver), comments, and
the report read fresh with its log, to confirm what really happened.

Acting calls go out once (`post_once`): a timeout is "unknown", never a reason to send
the decision again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from tasks.contracts import SAFE_ID
from tasks.ekuaibao.client import EkuaibaoClient
from tasks.ekuaibao.errors import Unavailable
from tasks.ekuaibao.models import MalformedPayload
from tasks.ekuaibao.review import flow_details
from tasks.ekuaibao.review_models import Flow, Stage, parse_flow

SUBMIT_PATH = "/api/openapi/v1/backlog/data/%5B{ids}%5D"
RESULT_PATH = "/api/openapi/v1/backlog/data/result"
POWERS_PATH = "/api/openapi/v1/charge/powers/list"
COMMENT_PATH = "/api/openapi/v2.2/flow/data/comment/${flow_id}"
POWER_CODE = "TICKET_AUDIT_switch"
#: The vendor's limit per submit call.
MAX_FLOWS = 10
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class License:
    licensed: bool
    why: str  # for doctor and logs: what was found


@dataclass(frozen=True)
class Batch:
    """`backlog/data` or its result: counts, and the failures by flow id."""

    total: int
    success: int
    error: int
    residue: int
    errors: dict[str, str]


@dataclass(frozen=True)
class LogEntry:
    action: str
    operator: str
    node_id: str
    next_id: str
    node_name: str
    time_ms: int


@dataclass(frozen=True)
class Report:
    """flowDetails read now: the card's fields, its whole log, and its current node."""

    flow: Flow
    logs: tuple[LogEntry, ...]

    @property
    def node_id(self) -> str:
        """Where the last entry that moves the report sent it (comments never do)."""
        return self.flow.node_id

    def waiting_at(self, stage: Stage | None) -> str:
        """The node that waits now, as both the log and approveStates say; "" when it
        cannot be known (no such entry, no `nextId`, or the two name different nodes)."""
        node, name = self.flow.node_id, self.flow.node_name
        if not node or stage is None or self.flow.state != "approving":
            return ""
        if name and stage.name and name != stage.name:
            return ""
        return node

    def decided(self, staff_id: str, action: str, node_id: str, since_ms: int) -> LogEntry | None:
        for entry in reversed(self.logs):
            if (
                entry.operator == staff_id
                and entry.action == action
                and (not node_id or not entry.node_id or entry.node_id == node_id)
                and entry.time_ms >= since_ms
            ):
                return entry
        return None

    def earlier_nodes(self) -> list[tuple[str, str]]:
        """Nodes the report passed (rejectTo targets): (node id, name), oldest first."""
        seen: dict[str, str] = {}
        for entry in self.logs:
            if entry.action == "freeflow.agree" and entry.node_id and entry.node_id != "SUBMIT":
                seen.setdefault(entry.node_id, entry.node_name or entry.node_id)
        seen.pop(self.node_id, None)
        return list(seen.items())


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def parse_batch(body: Any) -> Batch:
    value = body.get("value") if isinstance(body, dict) else None
    if not isinstance(value, dict):
        raise MalformedPayload("backlog/data answer without value")
    errors: dict[str, str] = {}
    for item in value.get("errorMsg") or []:
        if isinstance(item, dict) and isinstance(item.get("flowId"), str):
            errors[item["flowId"]] = _text(item.get("msg"))[:200] or "?"
    return Batch(
        _int(value.get("total")),
        _int(value.get("success")),
        _int(value.get("error")),
        _int(value.get("residue")),
        errors,
    )


def parse_license(body: Any, now: dt.datetime) -> License:
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise MalformedPayload("charge/powers answer without items")
    for item in items:
        if not isinstance(item, dict) or item.get("powerCode") != POWER_CODE:
            continue
        if item.get("state") != "using":
            return License(False, f"单据审批 is {_text(item.get('state')) or 'not in use'}")
        expire = _text((item.get("chargeInfo") or {}).get("expireTime"))
        try:
            until = dt.datetime.strptime(expire, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
        except ValueError:
            return License(False, "单据审批 has no readable expiry")
        if until <= now:
            return License(False, f"单据审批 expired at {expire}")
        return License(True, f"单据审批 licensed until {expire}")
    return License(False, "单据审批 (TICKET_AUDIT_switch) is not among the tenant's powers")


def parse_logs(body: Any) -> tuple[LogEntry, ...]:
    value = body.get("value") if isinstance(body, dict) else None
    entries = []
    for log in (value or {}).get("logs") or []:
        if not isinstance(log, dict):
            continue
        raw = log.get("attributes")
        attributes: dict[str, Any] = raw if isinstance(raw, dict) else {}
        entries.append(
            LogEntry(
                _text(log.get("action")),
                _text(log.get("operatorId")),
                _text(attributes.get("nodeId")),
                _text(attributes.get("nextId")),
                _text(attributes.get("nodeName")),
                _int(log.get("time")),
            )
        )
    return tuple(entries)


def _safe(value: str) -> str:
    if not SAFE_ID.fullmatch(value):
        raise ValueError("not an Ekuaibao id")
    return value


class DecideApi:
    def __init__(self, client: EkuaibaoClient) -> None:
        self._client = client

    def license(self) -> License:
        body = self._client.get(POWERS_PATH, {})
        try:
            return parse_license(body, dt.datetime.now(SHANGHAI))
        except MalformedPayload as exc:
            raise Unavailable(f"Ekuaibao sent a malformed answer: {exc}") from None

    def report(self, flow_id: str) -> Report:
        _safe(flow_id)
        body = flow_details(self._client, flow_id)
        try:
            return Report(parse_flow(body), parse_logs(body))
        except (MalformedPayload, ValueError, TypeError, AttributeError) as exc:
            raise Unavailable(f"Ekuaibao sent a malformed report: {exc}") from None

    def submit(self, staff_id: str, flow_ids: list[str], action: dict[str, str]) -> Batch:
        """Queue one decision for up to 10 reports, as `staff_id`. Sent once."""
        if not 1 <= len(flow_ids) <= MAX_FLOWS:
            raise ValueError("1 to 10 reports a call")
        path = SUBMIT_PATH.format(ids=",".join(_safe(f) for f in flow_ids))
        body = self._client.post_once(
            path,
            {"messageCode": "debug", "powerCode": POWER_CODE},
            {"approveId": _safe(staff_id), "action": action},
        )
        return self._batch(body)

    def result(self, staff_id: str) -> Batch:
        body = self._client.get(
            RESULT_PATH, {"approveId": _safe(staff_id), "powerCode": POWER_CODE}
        )
        return self._batch(body)

    def comment(self, flow_id: str, staff_id: str, text: str) -> None:
        path = COMMENT_PATH.format(flow_id=_safe(flow_id))
        body = {
            "params": {"comment": text, "attachments": [], "keepItSecret": False},
            "name": "freeflow.comment",
        }
        self._client.post_once(path, {"staffId": _safe(staff_id)}, body)

    @staticmethod
    def _batch(body: Any) -> Batch:
        try:
            return parse_batch(body)
        except MalformedPayload as exc:
            raise Unavailable(f"Ekuaibao sent a malformed answer: {exc}") from None


__all__ = ["Batch", "DecideApi", "License", "LogEntry", "Report", "parse_batch", "parse_license"]
