"""Ekuaibao's approval messages and an approver's own questions, as queued."""

from __future__ import annotations

import re
import time
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)

from tasks.contracts.lookup import ID_PATTERN

#: An outbound approval message from Ekuaibao, handled by the review worker.
REVIEW_EVENT_TASK = "invoicebot.review_event"
#: An approver's question or click about their reviews (queue, card, links, deep link).
REVIEW_ASK_TASK = "invoicebot.review_ask"
#: Ekuaibao's approval messages are a few hundred bytes; the bot refuses bigger bodies.
MAX_EVENT_BYTES = 16 * 1024

#: The `action` of Ekuaibao's approval messages, as its outbound-message docs list them,
#: and the retract and delete (log actions of those names) its 单据撤回/单据删除 triggers send.
OUTBOUND_ACTIONS = frozenset(
    {
        *("backlog.approving", "backlog.paying", "backlog.sending", "backlog.receiving"),
        *("flow.rejected", "flow.paid", "freeflow.remind", "urgent.remind", "timeout.remind"),
        *("freeflow.comment", "freeflow.mention", "freeflow.print", "freeflow.carbonCopy"),
        *("freeflow.ticketReserve", "freeflow.retract", "freeflow.delete"),
    }
)
#: What any action looks like, known or not (`freeflow.submit`); a node id: FLOW:1848:1061.
_ACTION_SHAPE = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,47}")
_NODE_SHAPE = re.compile(f"(?=.{{1,80}}\\Z){ID_PATTERN}")

ReviewAskKind = Literal["queue", "card", "refresh", "open", "more", "home"]


class ReviewEvent(BaseModel):
    """The body Ekuaibao POSTed, as received: unsigned, so the worker trusts none of it
    beyond the ids it re-reads through the API."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    payload: dict[str, Any]
    received_at: float = Field(default_factory=time.time)

    @field_validator("payload")
    @classmethod
    def _documented_shapes(cls, payload: dict[str, Any]) -> dict[str, Any]:
        """`action` and `nodeId` reach logs and the de-duplication key: only their documented
        shapes pass (the error names neither value)."""
        action, node = payload.get("action"), payload.get("nodeId")
        if action is not None and not (isinstance(action, str) and _ACTION_SHAPE.fullmatch(action)):
            raise ValueError("action is not shaped like an Ekuaibao action")
        if node not in (None, "") and not (isinstance(node, str) and _NODE_SHAPE.fullmatch(node)):
            raise ValueError("nodeId is not shaped like an Ekuaibao node id")
        return payload


class ReviewAsk(BaseModel):
    """What an approver asked for: their queue (`queue`, `home`), a review card in their
    DM (`card`), fresh links on a card (`refresh`), a deep link (`open`), more invoices."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: ReviewAskKind
    user_id: str
    team_id: str = ""
    #: Where a private answer goes (command or click); empty for the Home tab.
    response_url: str = ""
    flow_id: str = Field(default="", max_length=64)
    page: int = Field(default=0, ge=0, le=1000)
    #: The card clicked on (refresh, more): its DM channel and ts.
    channel_id: str = ""
    message_ts: str = ""
    language: str | None = None
    received_at: float = Field(default_factory=time.time)
