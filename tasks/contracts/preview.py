"""What a Preview click carries: to the worker (a request), and in the button (its value)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from tasks.contracts.lookup import ID_PATTERN, ReplyTarget

#: The Celery task name, sent by name so the bot never imports worker code.
PREVIEW_TASK = "invoicebot.preview_file"
#: A file name Ekuaibao sends is decoded Chinese text; longer ones are clipped in the
#: button (and matched by that prefix): Slack allows a value of 2000 characters.
MAX_FILE_NAME = 300

_InvoiceId = Annotated[str, StringConstraints(strict=True, pattern=f"^{ID_PATTERN}$")]
_FileName = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=MAX_FILE_NAME)]


class PreviewButton(BaseModel):
    """A Preview button's value: which file of which invoice, whose reply it is, and whether
    it sits on a review card (the preview then goes into the card's thread)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    invoice_id: _InvoiceId = Field(alias="i")
    file_name: _FileName = Field(alias="n")
    owner: str = Field(default="", alias="u", max_length=32)
    on_card: bool = Field(default=False, alias="c", strict=True)

    def encode(self) -> str:
        fields: dict[str, Any] = {"i": self.invoice_id, "n": self.file_name, "u": self.owner}
        if self.on_card:
            fields["c"] = True
        return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def decode(cls, raw: Any) -> PreviewButton | None:
        """The value of a click, or None when it is not one of ours."""
        if not isinstance(raw, str) or len(raw) > 2000:
            return None
        try:
            return cls.model_validate_json(raw)
        except ValidationError:
            return None


class PreviewRequest(ReplyTarget):
    """One file to preview for the person who clicked; the answer (where the preview went,
    or why there is none) comes through the click's response_url."""

    request_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    invoice_id: _InvoiceId
    file_name: _FileName
    #: The review card's ts: the preview goes into its thread; "" puts it in the person's DM.
    card_ts: str = Field(default="", max_length=32)
    received_at: float = Field(default_factory=time.time)
