"""Delivering replies: through a response_url, as an ephemeral message in a thread, or as a
DM. URLs and tokens never appear in what is logged or raised.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tasks import lean_http
from tasks.contracts import SLACK_RESPONSE_URL_PREFIXES, ReplyTarget, response_url_allowed
from tasks.slack.attachments import without_pictures
from tasks.slack.errors import Category, UrlAnswer, classify

log = logging.getLogger(__name__)

Message = dict[str, Any]
#: Short retries for a flaky Slack; the URL itself stays valid for 30 minutes.
_ATTEMPTS = 3


class ReplyFailed(Exception):
    """Slack would not take the reply; the message says why without the URL."""


class UrlGone(ReplyFailed):
    """The response_url expired (30 minutes) or was used up (5 posts)."""


class UrlNotSlack(ReplyFailed):
    """The response_url is not under SLACK_RESPONSE_URL_PREFIXES: nothing was sent there."""


class Replier:
    def __init__(
        self,
        http: httpx.Client,
        slack: WebClient | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        response_url_prefixes: tuple[str, ...] = SLACK_RESPONSE_URL_PREFIXES,
    ) -> None:
        self._http = http
        self._slack = slack
        self._sleep = sleep
        self._prefixes = response_url_prefixes

    # -- the three ways to answer --------------------------------------------------------

    def deliver(
        self, target: ReplyTarget, messages: Sequence[Message], *, in_channel: bool = False
    ) -> None:
        """All messages of one reply. The first may replace the message it answers."""
        for index, message in enumerate(messages):
            if target.reply_via == "response_url":
                try:
                    self.post(
                        target.response_url,
                        message,
                        replace_original=target.replace_original and index == 0,
                        in_channel=in_channel,
                    )
                except UrlGone as exc:
                    if in_channel:  # never fall back to posting finance data publicly
                        raise
                    log.warning("%s; answering with chat.postEphemeral instead", exc)
                    self._fallback(target, message)
            elif target.reply_via == "dm":
                self._dm(target.user_id, message)
            elif target.reply_via == "ephemeral":
                self._web(
                    "chat_postEphemeral",
                    channel=target.channel_id,
                    user=target.user_id,
                    thread_ts=target.thread_ts or None,
                    **_web_message(message),
                )
            else:
                self._web(
                    "chat_postMessage",
                    channel=target.channel_id,
                    thread_ts=target.thread_ts or None,
                    unfurl_links=False,
                    unfurl_media=False,
                    **_web_message(message),
                )

    def post(
        self,
        response_url: str,
        message: Message,
        *,
        replace_original: bool,
        in_channel: bool = False,
    ) -> None:
        """One message; a Block Kit rejection is retried once as plain text. Only to
        Slack's own hosts: a task naming any other URL is refused before anything is sent."""
        if not response_url_allowed(response_url, self._prefixes):
            log.error("refused to post a reply to a response_url not on Slack's hosts")
            raise UrlNotSlack(
                "the response_url is not under SLACK_RESPONSE_URL_PREFIXES; nothing sent"
            )
        body = {
            "response_type": "in_channel" if in_channel else "ephemeral",
            "replace_original": replace_original,
            "unfurl_links": False,
            "unfurl_media": False,
            **message,
        }
        status, answer = self._post_with_retries(response_url, body)
        if status == 200:
            return
        category = classify(UrlAnswer(status, answer)).category
        bare = without_pictures(body) if category is Category.INVALID_BLOCKS else None
        if bare is not None:
            log.warning("Slack refused the reply with its thumbnails; sending it without them")
            status, answer = self._post_with_retries(response_url, bare)
            if status == 200:
                return
            category = classify(UrlAnswer(status, answer)).category
        if category is Category.INVALID_BLOCKS and "blocks" in body:
            log.error("Slack rejected the reply's blocks (%s); sending plain text", answer[:200])
            plain = {k: v for k, v in body.items() if k != "blocks"}
            status, answer = self._post_with_retries(response_url, plain)
            if status == 200:
                return
            category = classify(UrlAnswer(status, answer)).category
        if category is Category.GONE:
            raise UrlGone(f"the response_url is no longer usable ({answer[:40]!r})")
        raise ReplyFailed(f"Slack answered HTTP {status} ({answer[:80]!r}) to the reply")

    # -- reactions on the message that mentioned us --------------------------------------

    def react(self, target: ReplyTarget, add: str | None = None, remove: str | None = None) -> None:
        """Best effort: a missing reaction scope must not cost the user their answer."""
        if not target.reaction_ts or self._slack is None:
            return
        for method, name in (("reactions_remove", remove), ("reactions_add", add)):
            if not name:
                continue
            try:
                getattr(self._slack, method)(
                    channel=target.channel_id, timestamp=target.reaction_ts, name=name
                )
            except (SlackApiError, OSError) as exc:
                log.warning(
                    "could not %s :%s: (%s)", method.split("_")[1], name, classify(exc).code
                )

    # -- internals -------------------------------------------------------------------------

    def _fallback(self, target: ReplyTarget, message: Message) -> None:
        """An ephemeral message where the person asked; if the bot can't post there, a DM."""
        try:
            self._web(
                "chat_postEphemeral",
                channel=target.channel_id,
                user=target.user_id,
                thread_ts=target.thread_ts or None,
                **_web_message(message),
            )
            return
        except ReplyFailed as exc:
            log.warning("%s; answering in a DM instead", exc)
        self._dm(target.user_id, message)

    def _dm(self, user_id: str, message: Message) -> None:
        """A lasting message in the person's DM with the bot (conversations.open, then post)."""
        if self._slack is None:
            raise ReplyFailed("no response_url left and no SLACK_BOT_TOKEN to post with")
        try:
            opened = self._slack.conversations_open(users=user_id)
            channel = str((opened.get("channel") or {}).get("id", ""))
        except (SlackApiError, OSError) as exc:
            raise ReplyFailed(f"conversations_open: {classify(exc).code}") from None
        self._web(
            "chat_postMessage",
            channel=channel,
            unfurl_links=False,
            unfurl_media=False,
            **_web_message(message),
        )

    def _web(self, method: str, **kwargs: Any) -> None:
        """One Web API call; a Block Kit rejection is retried once as plain text."""
        if self._slack is None:
            raise ReplyFailed("SLACK_BOT_TOKEN is not set in the worker, so it cannot post")
        try:
            getattr(self._slack, method)(**kwargs)
            return
        except (SlackApiError, OSError) as exc:
            failure = classify(exc)
        bare = without_pictures(kwargs) if failure.category is Category.INVALID_BLOCKS else None
        if bare is not None:
            log.warning("Slack refused the reply with its thumbnails; sending it without them")
            try:
                getattr(self._slack, method)(**bare)
                return
            except (SlackApiError, OSError) as retry_exc:
                failure = classify(retry_exc)
        if failure.category is Category.INVALID_BLOCKS and kwargs.get("blocks"):
            log.error("Slack rejected the reply's blocks; sending plain text")
            kwargs.pop("blocks")
            try:
                getattr(self._slack, method)(**kwargs)
                return
            except (SlackApiError, OSError) as retry_exc:
                failure = classify(retry_exc)
        raise ReplyFailed(f"{method}: {failure.code}") from None

    def _post_with_retries(self, url: str, body: Message) -> tuple[int, str]:
        status, answer, retry_after = 0, "", 0.0
        for attempt in range(_ATTEMPTS):
            try:
                response = lean_http.send(self._http, "POST", url, json_body=body)
                status, answer = response.status_code, response.text
                retry_after = _seconds(response.headers.get("Retry-After"))
            except httpx.HTTPError as exc:
                status, answer = 0, type(exc).__name__
            if status == 200 or (400 <= status < 500 and status != 429):
                return status, answer
            if attempt + 1 < _ATTEMPTS:
                self._sleep(retry_after if status == 429 and retry_after else 0.5 * 2**attempt)
        return status, answer


#: Longest wait for a rate-limited response_url inside one attempt.
_MAX_RETRY_AFTER_S = 30.0


def _seconds(value: str | None) -> float:
    try:
        return min(max(float(value or 0), 0.0), _MAX_RETRY_AFTER_S)
    except ValueError:
        return 0.0


def _web_message(message: Message) -> dict[str, Any]:
    return {"text": message.get("text", ""), "blocks": message.get("blocks")}
