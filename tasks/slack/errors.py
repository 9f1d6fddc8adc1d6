"""What a Slack failure means, decided in one place.

Slack says no in two shapes: a Web API call raises (`SlackApiError` carrying an error code,
or a network error), and a response_url answers with an HTTP status and a short body (a bare
code such as ``expired_url``, or JSON). `classify` turns either into a `Category` the caller
acts on, and a `code` that is safe to log (never the URL or a token).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

import httpx


class Category(StrEnum):
    GONE = "gone"  # the response_url expired, was used up, or never existed
    INVALID_BLOCKS = "invalid_blocks"  # Slack refused the blocks; plain text may pass
    RATE_LIMITED = "rate_limited"
    NOT_IN_CHANNEL = "not_in_channel"  # the bot cannot post there (not a member, or hidden)
    TRANSIENT = "transient"  # network trouble or Slack's own 5xx: worth another try
    OTHER = "other"


@dataclass(frozen=True)
class UrlAnswer:
    """What a response_url answered: its HTTP status (0 when nothing came back) and body."""

    status: int
    text: str


@dataclass(frozen=True)
class SlackFailure:
    category: Category
    code: str  # Slack's error code, else the exception's type: safe to log


_BY_CODE = {
    "expired_url": Category.GONE,
    "used_url": Category.GONE,
    "invalid_url": Category.GONE,
    "invalid_blocks": Category.INVALID_BLOCKS,
    "invalid_blocks_format": Category.INVALID_BLOCKS,
    "ratelimited": Category.RATE_LIMITED,
    "rate_limited": Category.RATE_LIMITED,
    "not_in_channel": Category.NOT_IN_CHANNEL,
    "channel_not_found": Category.NOT_IN_CHANNEL,
    "internal_error": Category.TRANSIENT,
    "fatal_error": Category.TRANSIENT,
    "service_unavailable": Category.TRANSIENT,
    "request_timeout": Category.TRANSIENT,
}


def classify(failure: BaseException | UrlAnswer) -> SlackFailure:
    """The category of a Web API exception or of a response_url's non-200 answer."""
    status: int | None
    if isinstance(failure, UrlAnswer):
        code = _answer_code(failure.text)
        status = failure.status
    else:
        code = _exception_code(failure)
        status = _exception_status(failure)
    category = _BY_CODE.get(code)
    if category is None:
        category = _by_status(failure, status)
    return SlackFailure(category, code)


def _by_status(failure: BaseException | UrlAnswer, status: int | None) -> Category:
    if isinstance(failure, UrlAnswer) and status in (404, 410):
        return Category.GONE
    if status == 429:
        return Category.RATE_LIMITED
    if status == 0 or (status is not None and status >= 500):
        return Category.TRANSIENT
    if isinstance(failure, (OSError, httpx.TransportError)):
        return Category.TRANSIENT
    return Category.OTHER


def _answer_code(text: str) -> str:
    """A response_url's body: a bare code (``used_url``), a phrase (``Expired url``) or JSON."""
    text = text.strip()
    if text.startswith("{"):
        try:
            error = json.loads(text).get("error")
        except (ValueError, AttributeError):
            error = None
        if isinstance(error, str):
            text = error
    return "_".join(text.lower().split())[:80]


def _exception_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    try:
        error = response.get("error") if response is not None else None
    except (AttributeError, TypeError):
        error = None
    return str(error) if error else type(exc).__name__


def _exception_status(exc: BaseException) -> int | None:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) else None
