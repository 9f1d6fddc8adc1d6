"""Which language to answer in: a setting, or each user's Slack locale (cached)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Literal

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

Language = Literal["en", "zh"]
CACHE_TTL_S = 3600


class LanguagePicker:
    def __init__(self, setting: str, client: WebClient | None) -> None:
        self._setting = setting
        self._client = client
        self._cache: dict[str, tuple[Language, float]] = {}
        self._lock = threading.Lock()

    def for_user(self, user_id: str) -> Language:
        """`BOT_LANGUAGE=en|zh` wins; `auto` reads the locale once an hour (English on error)."""
        if self._setting in ("en", "zh"):
            return "zh" if self._setting == "zh" else "en"
        if not user_id or self._client is None:
            return "en"
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(user_id)
        if cached and cached[1] > now:
            return cached[0]
        language: Language = "en"
        try:
            response = self._client.users_info(user=user_id, include_locale=True)
            locale = str((response.get("user") or {}).get("locale") or "en-US")
            language = "zh" if locale.lower().startswith("zh") else "en"
        except (SlackApiError, OSError) as exc:
            log.warning(
                "could not read the Slack locale of %s (%s); using English",
                user_id,
                type(exc).__name__,
            )
            with self._lock:
                self._cache[user_id] = (language, now + 60)
            return language
        with self._lock:
            self._cache[user_id] = (language, now + CACHE_TTL_S)
        return language
