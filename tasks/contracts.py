"""The one message that crosses the broker: plain JSON, validated on both sides."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

#: Slack lets a response_url be used for 30 minutes; every retry must fit inside it.
RESPONSE_URL_LIFETIME_S = 30 * 60
#: Most ids one request may carry; more gets a clear message and nothing reaches Ekuaibao.
MAX_IDS = 20
#: Invoices of a report shown per page; "Show more" asks for the next page.
REPORT_PAGE_SIZE = 20
#: The Celery task name, sent by name so the bot never imports worker code.
LOOKUP_TASK = "invoicebot.lookup_invoices"
#: A short message for the person (hints), sent through the worker like any reply.
NOTICE_TASK = "invoicebot.post_notice"

#: Where Slack's response_urls live (GovSlack: https://hooks.slack-gov.com/); nothing else
#: is ever POSTed a reply. Prefixes end with "/", so they fix the scheme and the host.
SLACK_RESPONSE_URL_PREFIXES = ("https://hooks.slack.com/",)
#: Slack's are about 80 characters.
MAX_RESPONSE_URL = 512


def response_url_allowed(url: str, prefixes: tuple[str, ...]) -> bool:
    """Whether a reply may be POSTed to `url`: under one of `prefixes` (each `scheme://host/…`),
    and plain ASCII
    with no space, backslash or control character that a URL parser might read otherwise."""
    return (
        len(url) <= MAX_RESPONSE_URL
        and url.isascii()
        and url.isprintable()
        and not any(c in url for c in " \\")
        and any(p.endswith("/") and p.count("/") >= 3 and url.startswith(p) for p in prefixes)
    )


#: Ekuaibao ids are opaque but use only these characters (`corp:code:number`, `ID_3tlmF6$S1bg`).
ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9:$_\-]*"
_ID = re.compile(ID_PATTERN)

#: dm: a lasting message in the person's DM with the bot, opened by the worker ("Keep in
#: my DMs"); channel_id stays where they asked, for the same access check as a refresh.
ReplyVia = Literal["response_url", "ephemeral", "channel", "dm"]
#: full: the normal private reply. share: the channel version, no links. links: links only
#: for whoever clicked "Get my links" on a shared summary.
Mode = Literal["full", "share", "links"]


class ReplyTarget(BaseModel):
    """Where the answer goes: a response_url, an ephemeral message in a thread, or a DM."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    team_id: str = ""
    channel_id: str = ""
    user_id: str = ""
    response_url: str = ""
    reply_via: ReplyVia = "response_url"
    #: response_url only: replace the message the request came from (ack, or clicked reply).
    replace_original: bool = True
    thread_ts: str = ""
    #: app_mention: the message that gets 👀 while working, then ✅ or ❌.
    reaction_ts: str = ""
    language: str | None = None

    @model_validator(mode="after")
    def _reachable(self) -> ReplyTarget:
        if self.reply_via == "response_url" and not self.response_url:
            raise ValueError("a response_url reply needs response_url")
        if self.reply_via in ("ephemeral", "channel") and not self.channel_id:
            raise ValueError("an ephemeral or channel reply needs channel_id")
        if self.reply_via in ("ephemeral", "dm") and not self.user_id:
            raise ValueError("an ephemeral or DM reply needs user_id")
        return self


class LookupRequest(ReplyTarget):
    """What the worker needs to look invoices up and answer the person who asked."""

    request_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    ids: tuple[str, ...] = Field(default=(), max_length=MAX_IDS)
    #: A report code (B23001249) or id; its invoices are looked up page by page.
    report: str = ""
    page: int = Field(default=0, ge=0)
    #: Only this message of a multi-message reply (a refresh or share of one message).
    part: int | None = Field(default=None, ge=0)
    mode: Mode = "full"
    #: The person the reply belongs to (refresh is theirs only); defaults to user_id.
    owner_id: str = ""
    #: The reply is a lasting message (kept in a DM, or a refresh of one): no "Keep" button.
    kept: bool = False
    #: Epoch seconds when Slack handed us the response_url; retries stop before it dies.
    received_at: float = Field(default_factory=time.time)

    @model_validator(mode="after")
    def _something_to_look_up(self) -> LookupRequest:
        if not self.ids and not self.report:
            raise ValueError("a lookup needs ids or a report")
        return self

    @property
    def by_message(self) -> bool:
        """Asked by a message (a DM, a mention) or answered as one (Look up again), not
        through an ack someone is watching: the kind a script sends by the hundred."""
        return self.reply_via in ("channel", "ephemeral")

    @property
    def deadline(self) -> float:
        """Last moment a reply through response_url is still accepted, with a safety margin."""
        return self.received_at + RESPONSE_URL_LIFETIME_S - 60


class Notice(ReplyTarget):
    """A fixed hint (`texts` field name) for someone whose message held nothing to look up."""

    text_key: Literal["dm_hint", "mention_hint", "shortcut_nothing_found", "not_yours"]


_ButtonId = Annotated[str, StringConstraints(strict=True, pattern=f"^{ID_PATTERN}$")]
_ButtonInt = Annotated[int, Field(strict=True, ge=0, lt=10_000)]


class ButtonValue(BaseModel):
    """What a reply's button carries to redo its message hours later: the ids, or the report
    with its page and the message (part) of that page, and whose reply it is.

    Written by `tasks.slack.render` into the button, read back by `bot.listeners.actions`
    from the click; short keys, as Slack allows 2000 characters. A click sends back what we
    wrote, but it arrives over the network, so it is checked like any input.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    ids: tuple[_ButtonId, ...] = Field(default=(), alias="i", max_length=MAX_IDS)
    report: str = Field(default="", alias="r", strict=True)
    page: _ButtonInt = Field(default=0, alias="p")
    part: _ButtonInt | None = Field(default=None, alias="m")
    owner: str = Field(default="", alias="u")

    @field_validator("ids", "report", mode="before")
    @classmethod
    def _null_is_none(cls, value: Any, info: Any) -> Any:
        if value is None:
            return () if info.field_name == "ids" else ""
        return value

    @field_validator("report")
    @classmethod
    def _report_looks_like_an_id(cls, value: str) -> str:
        if value and not _ID.fullmatch(value):
            raise ValueError("not a report code or id")
        return value

    @model_validator(mode="after")
    def _something_to_redo(self) -> ButtonValue:
        if not self.ids and not self.report:
            raise ValueError("a button needs ids or a report")
        return self

    def encode(self) -> str:
        """Compact JSON: `{"i": ids, "u": owner}`, or `{"r", "p", ["m",] "u"}` for a report."""
        fields: dict[str, Any] = {"r": self.report, "p": self.page} if self.report else {}
        if self.report and self.part is not None:
            fields["m"] = self.part
        if not self.report:
            fields["i"] = list(self.ids)
        return json.dumps({**fields, "u": self.owner}, separators=(",", ":"))

    @classmethod
    def decode(cls, raw: Any) -> ButtonValue | None:
        """The value of a click, or None when it is not one of ours."""
        if not isinstance(raw, str):
            return None
        try:
            return cls.model_validate_json(raw)
        except ValidationError:
            return None


# -- review: Ekuaibao's approval messages and the approver's own questions ----------------

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


# -- deciding from the review card -------------------------------------------------------

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
