"""The one message that crosses the broker: plain JSON, validated on both sides."""

from __future__ import annotations

import time
import uuid

from pydantic import BaseModel, ConfigDict, Field

#: Slack lets a response_url be used for 30 minutes; every retry must fit inside it.
RESPONSE_URL_LIFETIME_S = 30 * 60
#: Most ids one request may carry; more gets a clear message and nothing reaches Ekuaibao.
MAX_IDS = 20
#: The Celery task name, sent by name so the bot never imports worker code.
LOOKUP_TASK = "invoicebot.lookup_invoices"


class LookupRequest(BaseModel):
    """What the worker needs to look invoices up and answer the person who asked."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    request_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    ids: tuple[str, ...] = Field(min_length=1, max_length=MAX_IDS)
    team_id: str = ""
    channel_id: str = ""
    user_id: str = ""
    response_url: str
    #: Epoch seconds when Slack handed us the response_url; retries stop before it dies.
    received_at: float = Field(default_factory=time.time)

    @property
    def deadline(self) -> float:
        """Last moment a reply through response_url is still accepted, with a safety margin."""
        return self.received_at + RESPONSE_URL_LIFETIME_S - 60
