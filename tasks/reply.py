"""Posting replies through a Slack response_url, never logging the URL itself."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

log = logging.getLogger(__name__)

Message = dict[str, Any]
#: Short retries for a flaky Slack; the URL itself stays valid for 30 minutes.
_ATTEMPTS = 3


class ReplyFailed(Exception):
    """Slack would not take the reply; the message says why without the URL."""


class Replier:
    def __init__(self, http: httpx.Client, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._http = http
        self._sleep = sleep

    def post(self, response_url: str, message: Message, *, replace_original: bool) -> None:
        """One ephemeral message; a Block Kit rejection is retried once as plain text."""
        body = {
            "response_type": "ephemeral",
            "replace_original": replace_original,
            "unfurl_links": False,
            "unfurl_media": False,
            **message,
        }
        status, answer = self._post_with_retries(response_url, body)
        if status == 400 and "invalid_blocks" in answer and "blocks" in body:
            log.error("Slack rejected the reply's blocks (%s); sending plain text", answer[:200])
            plain = {k: v for k, v in body.items() if k != "blocks"}
            status, answer = self._post_with_retries(response_url, plain)
        if status != 200:
            raise ReplyFailed(f"Slack answered HTTP {status} ({answer[:80]!r}) to the reply")

    def send_all(self, response_url: str, messages: Sequence[Message]) -> None:
        """The first message replaces the "Looking up…" one where Slack allows; the rest follow."""
        for index, message in enumerate(messages):
            self.post(response_url, message, replace_original=index == 0)

    def _post_with_retries(self, url: str, body: Message) -> tuple[int, str]:
        status, answer = 0, ""
        for attempt in range(_ATTEMPTS):
            try:
                response = self._http.post(url, json=body)
                status, answer = response.status_code, response.text
            except httpx.HTTPError as exc:
                status, answer = 0, type(exc).__name__
            if status == 200 or (400 <= status < 500 and status != 429):
                return status, answer
            if attempt + 1 < _ATTEMPTS:
                self._sleep(0.5 * 2**attempt)
        return status, answer
