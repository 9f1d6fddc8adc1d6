"""What a lookup carries across the broker, and what a reply's button carries back."""

from __future__ import annotations

import json
import re
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

    text_key: Literal[
        "dm_hint", "mention_hint", "shortcut_nothing_found", "not_yours", "not_yours_preview"
    ]


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
