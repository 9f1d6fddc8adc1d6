"""Slack's event and shortcut payloads, read once into typed requests (as `parsing` reads a
command's text), so a listener never walks a raw dict.

Each reader returns the request, or `Skip` saying why there is nothing to answer: an edit,
a bot's message, another tab, or a payload without the fields an answer needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Skip:
    reason: str
    malformed: bool = False  # a payload Slack should not send: worth a warning


@dataclass(frozen=True)
class DirectMessage:
    """A person's message in their DM with the bot."""

    team_id: str
    event_id: str
    channel: str
    user: str
    text: str


@dataclass(frozen=True)
class Mention:
    """An @mention of the bot in a channel; answered in its thread."""

    team_id: str
    event_id: str
    channel: str
    user: str
    text: str
    ts: str
    thread_ts: str


@dataclass(frozen=True)
class HomeOpened:
    team_id: str
    user: str


@dataclass(frozen=True)
class MessageShortcut:
    """ "Look up invoices" on a message: every text in it, joined."""

    team_id: str
    channel_id: str
    user_id: str
    response_url: str
    text: str


def direct_message(event: Mapping[str, Any], body: Mapping[str, Any]) -> DirectMessage | Skip:
    if event.get("channel_type") != "im":
        return Skip("not a DM")
    skip = _not_from_a_person(event)
    if skip:
        return skip
    channel = _str(event, "channel")
    if not channel:
        return Skip("a DM event without a channel", malformed=True)
    return DirectMessage(
        team_id=_str(body, "team_id"),
        event_id=_str(body, "event_id"),
        channel=channel,
        user=_str(event, "user"),
        text=_str(event, "text"),
    )


def mention(event: Mapping[str, Any], body: Mapping[str, Any]) -> Mention | Skip:
    skip = _not_from_a_person(event)
    if skip:
        return skip
    channel, ts = _str(event, "channel"), _str(event, "ts")
    if not channel or not ts:
        return Skip("a mention without a channel or ts", malformed=True)
    return Mention(
        team_id=_str(body, "team_id"),
        event_id=_str(body, "event_id"),
        channel=channel,
        user=_str(event, "user"),
        text=_str(event, "text"),
        ts=ts,
        thread_ts=_str(event, "thread_ts") or ts,
    )


def home_opened(event: Mapping[str, Any], body: Mapping[str, Any]) -> HomeOpened | Skip:
    user = _str(event, "user")
    if event.get("tab") != "home" or not user:
        return Skip("not the Home tab, or no user")
    return HomeOpened(team_id=_str(body, "team_id"), user=user)


def message_shortcut(body: Mapping[str, Any]) -> MessageShortcut | Skip:
    """Skipped only when there is no one to answer or no response_url to answer through."""
    user, response_url = _str(_dict(body, "user"), "id"), _str(body, "response_url")
    if not user or not response_url:
        return Skip("a shortcut without a user or a response_url", malformed=True)
    return MessageShortcut(
        team_id=_str(_dict(body, "team"), "id"),
        channel_id=_str(_dict(body, "channel"), "id"),
        user_id=user,
        response_url=response_url,
        text="\n".join(dict.fromkeys(_texts_of(body.get("message") or {}))),
    )


def _not_from_a_person(event: Mapping[str, Any]) -> Skip | None:
    """Edits, deletions and joins have a subtype; bots (ourselves too) a bot_id."""
    if event.get("subtype") or event.get("bot_id") or not event.get("user"):
        return Skip("an edit, a bot, or no user")
    return None


def _texts_of(value: Any) -> Iterator[str]:
    """Every `text`/`fallback`/`pretext` string in a message: pasted notifications often
    keep their ids in attachments or blocks, not in the top-level text."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in ("text", "fallback", "pretext", "title", "value") and isinstance(inner, str):
                yield inner
            else:
                yield from _texts_of(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _texts_of(inner)


def _dict(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = payload.get(key)
    return value if isinstance(value, dict) else {}


def _str(payload: Mapping[str, Any], key: str) -> str:
    """A string field; absent, null or not a scalar reads as empty."""
    value = payload.get(key)
    if value is None or isinstance(value, (dict, list)):
        return ""
    return str(value)
