"""What deciding reads, parsed: the report with its log (to confirm what really
happened), the tenant's 单据审批 licence, and a decision batch's counts and failures."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from tasks.ekuaibao.approval_models import Flow, Stage
from tasks.ekuaibao.models import MalformedPayload

POWER_CODE = "TICKET_AUDIT_switch"
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


__all__ = [
    "POWER_CODE",
    "SHANGHAI",
    "Batch",
    "License",
    "LogEntry",
    "Report",
    "parse_batch",
    "parse_license",
    "parse_logs",
]
