"""A decision from the review card, signed by the bot so that the broker grants no power."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

#: Fill a decision modal, or send the decision itself (approve, reject, ask).
DECIDE_TASK = "invoicebot.decide"
DecisionStep = Literal["prepare", "decide"]
DecisionWhat = Literal["approve", "reject", "ask"]


#: What the modal showed (`updateTime|amount|invoices`): a decision approves that, or nothing.
VERSION_PATTERN = r"[0-9A-Za-z.+\-]{1,20}\|[0-9A-Za-z.+\-]{1,40}\|[0-9]{1,5}"
_VERSION = re.compile(VERSION_PATTERN)
#: Ids that go into a path: letters, digits and `_ - $ :` only (no `/`, `?`, `..`).
SAFE_ID = re.compile(r"[A-Za-z0-9_$:-]{1,80}")
#: Far above any value `DecisionRef.encode` writes; anything longer is not ours.
_MAX_REF = 400


@dataclass(frozen=True)
class DecisionRef:
    """What a decision button's value and a decide modal's `private_metadata` carry: the
    report, its node and (once the modal is filled) the version it showed. The worker
    writes them, the bot reads them back, and nothing else in them is trusted."""

    flow_id: str
    node_id: str = ""
    version: str = ""

    def encode(self) -> str:
        fields = {"f": self.flow_id, "n": self.node_id}
        if self.version:
            fields["v"] = self.version
        return json.dumps(fields, separators=(",", ":"))

    @classmethod
    def decode(cls, raw: Any) -> DecisionRef | None:
        """None for anything `encode` would not have written (after a length cap)."""
        if not isinstance(raw, str) or len(raw) > _MAX_REF:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(value, dict):
            return None
        flow, node = str(value.get("f") or ""), str(value.get("n") or "")
        version = str(value.get("v") or "")
        if not SAFE_ID.fullmatch(flow) or (node and not SAFE_ID.fullmatch(node)):
            return None
        if version and not _VERSION.fullmatch(version):
            return None
        return cls(flow, node, version)


class Decision(BaseModel):
    """A click on Approve/Reject…/Ask…, or its modal's Confirm. Only the ids and what the
    person typed: the worker re-reads the report, the approvers and the clicker.

    Signed by the bot (`signed`) with a key the workers share: writing to the broker is not
    enough to decide as someone."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    step: DecisionStep
    what: DecisionWhat
    user_id: str = Field(max_length=32)
    team_id: str = ""
    flow_id: str = Field(max_length=64)
    node_id: str = Field(default="", max_length=80)
    #: The modal to fill (prepare).
    view_id: str = Field(default="", max_length=64)
    comment: str = Field(default="", max_length=3000)
    reject_to: str = Field(default="", max_length=80)
    resubmit_method: Literal["FROM_START", "TO_REJECTOR"] = "FROM_START"
    language: str | None = None
    #: One id per Confirm: a retried or redelivered task knows its own claim.
    decision_id: str = Field(default_factory=lambda: secrets.token_hex(8))
    #: The report as the modal showed it (decide step); "" when it showed none.
    version: str = Field(default="", max_length=72, pattern=f"^({VERSION_PATTERN})?$")
    #: HMAC-SHA256 (hex) of `signed_fields`, by the bot.
    signature: str = Field(default="", max_length=64)
    received_at: float = Field(default_factory=time.time)

    def signed_fields(self) -> bytes:
        """Everything that gives the task its power, in one fixed encoding (the comment as
        its digest: the text never needs to be in the encoding)."""
        comment = hashlib.sha256(self.comment.encode()).hexdigest()
        fields = [
            "invoicebot.decision.v1",
            self.step,
            self.what,
            self.user_id,
            self.team_id,
            self.flow_id,
            self.node_id,
            self.view_id,
            self.version,
            self.reject_to,
            self.resubmit_method,
            comment,
            self.decision_id,
        ]
        return json.dumps(fields, separators=(",", ":")).encode()

    def signed(self, key: bytes | None) -> Decision:
        """This decision with the bot's signature (none without a key: workers refuse it)."""
        if not key:
            return self.model_copy(update={"signature": ""})
        digest = hmac.new(key, self.signed_fields(), hashlib.sha256).hexdigest()
        return self.model_copy(update={"signature": digest})

    def signed_by(self, key: bytes | None) -> bool:
        """Signed with `key`, and not altered since (constant-time compare)."""
        if not key or not self.signature:
            return False
        expected = hmac.new(key, self.signed_fields(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.signature)
