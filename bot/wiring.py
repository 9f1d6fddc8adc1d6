"""What every listener needs besides Bolt: the queue, de-duplication, and the user's language."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bot.enqueue import Enqueue, EnqueueFailed
from bot.parsing import Found
from tasks.contracts import LookupRequest, Notice, ReplyTarget
from tasks.shared.dedup import Dedup
from tasks.shared.language import LanguagePicker
from tasks.shared.texts import Texts, texts_for

log = logging.getLogger(__name__)
Hint = Literal["dm_hint", "mention_hint", "shortcut_nothing_found"]
#: Where `bot.listeners.register` puts the Wiring in Bolt's per-request context.
WIRING_KEY = "invoicebot_wiring"


@dataclass(frozen=True)
class Wiring:
    enqueue: Enqueue
    dedup: Dedup
    language: LanguagePicker
    #: Two clicks of the same button within this many seconds are one click.
    double_click_s: float = 3.0

    def first_click(self, click: str) -> bool:
        """Whether this click (a person, a button, a message) is the first in its window."""
        return self.dedup.first(click, ttl_s=self.double_click_s)

    def texts(self, user_id: str) -> tuple[str, Texts]:
        language = self.language.for_user(user_id)
        return language, texts_for(language)

    def answer(self, target: ReplyTarget, found: Found, hint: Hint) -> None:
        """Free text's answer: one lookup for its ids, one per report, or a hint when it held
        nothing to look up."""
        fields = target.model_dump()
        fields["language"] = target.language or self.language.for_user(target.user_id)
        try:
            if not found:
                self.enqueue(Notice(text_key=hint, **fields))
                return
            if found.ids:
                self.enqueue(LookupRequest(ids=found.ids, **fields))
            for report in found.reports:
                self.enqueue(LookupRequest(report=report, **fields))
        except EnqueueFailed:
            log.error("could not queue the lookup for %s", target.user_id)


def wiring_of(context: Mapping[str, Any]) -> Wiring:
    """The Wiring a listener was given (Bolt's `context`, or a plain dict in a unit test)."""
    wiring = context[WIRING_KEY]
    assert isinstance(wiring, Wiring), "bot.listeners.register puts a Wiring in the context"
    return wiring
