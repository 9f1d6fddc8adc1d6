"""A decision from the review card, signed by the bot so that the broker grants no power."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Literal

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
