"""What every listener needs besides Bolt: the queue, de-duplication, and the user's language."""

from __future__ import annotations

from dataclasses import dataclass

from bot.enqueue import Enqueue
from tasks.dedup import Dedup
from tasks.language import LanguagePicker
from tasks.texts import Texts, texts_for


@dataclass(frozen=True)
class Wiring:
    enqueue: Enqueue
    dedup: Dedup
    language: LanguagePicker

    def texts(self, user_id: str) -> tuple[str, Texts]:
        language = self.language.for_user(user_id)
        return language, texts_for(language)
