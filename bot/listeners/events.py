"""DMs to the bot and @mentions in channels: find ids in free text, answer where asked.

Slack retries an event it thinks we missed; the event id is remembered so a retry is
never answered twice. Edits, deletions and bot messages (our own included) are ignored.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext

from bot import payloads
from bot.listeners import review
from bot.parsing import find_in_prose
from bot.payloads import Skip
from bot.wiring import Wiring, wiring_of
from tasks.contracts import ReplyTarget

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.event("message")(direct_message)
    app.event("app_mention")(mention)


def direct_message(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
    wiring = wiring_of(context)
    dm = payloads.direct_message(event, body)
    if isinstance(dm, Skip) or not _first(wiring, dm.event_id):
        _skipped(dm, "message")
        return
    target = ReplyTarget(
        team_id=dm.team_id, channel_id=dm.channel, user_id=dm.user, reply_via="channel"
    )
    if review.asks_for_review(dm.text):
        review.queue(wiring, {**target.model_dump(), "channel_id": target.channel_id}, None)
        return
    wiring.answer(target, find_in_prose(dm.text), "dm_hint")


def mention(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
    wiring = wiring_of(context)
    asked = payloads.mention(event, body)
    if isinstance(asked, Skip) or not _first(wiring, asked.event_id):
        _skipped(asked, "app_mention")
        return
    target = ReplyTarget(
        team_id=asked.team_id,
        channel_id=asked.channel,
        user_id=asked.user,
        reply_via="ephemeral",
        thread_ts=asked.thread_ts,
        reaction_ts=asked.ts,
    )
    wiring.answer(target, find_in_prose(asked.text), "mention_hint")


def _first(wiring: Wiring, event_id: str) -> bool:
    """Not a second delivery of an event we already took."""
    if not wiring.dedup.first(f"event:{event_id}"):
        log.info("ignored a repeated delivery of event %s", event_id)
        return False
    return True


def _skipped(parsed: object, kind: str) -> None:
    if isinstance(parsed, Skip) and parsed.malformed:
        log.warning("dropped a %s event: %s", kind, parsed.reason)
