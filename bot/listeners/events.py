"""DMs to the bot and @mentions in channels: find ids in free text, answer where asked.

Slack retries an event it thinks we missed; the event id is remembered so a retry is
never answered twice. Edits, deletions and bot messages (our own included) are ignored.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext

from bot.listeners import review
from bot.parsing import find_in_prose
from bot.wiring import Wiring, wiring_of
from tasks.contracts import ReplyTarget

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.event("message")(direct_message)
    app.event("app_mention")(mention)


def direct_message(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
    wiring = wiring_of(context)
    if event.get("channel_type") != "im" or not _first_from_a_person(wiring, event, body):
        return
    target = ReplyTarget(
        team_id=str(body.get("team_id", "")),
        channel_id=str(event["channel"]),
        user_id=str(event["user"]),
        reply_via="channel",
    )
    if review.asks_for_review(event.get("text")):
        review.queue(wiring, {**target.model_dump(), "channel_id": target.channel_id}, None)
        return
    wiring.answer(target, find_in_prose(event.get("text")), "dm_hint")


def mention(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
    wiring = wiring_of(context)
    if not _first_from_a_person(wiring, event, body):
        return
    target = ReplyTarget(
        team_id=str(body.get("team_id", "")),
        channel_id=str(event["channel"]),
        user_id=str(event["user"]),
        reply_via="ephemeral",
        thread_ts=str(event.get("thread_ts") or event["ts"]),
        reaction_ts=str(event["ts"]),
    )
    wiring.answer(target, find_in_prose(event.get("text")), "mention_hint")


def _first_from_a_person(wiring: Wiring, event: dict[str, Any], body: dict[str, Any]) -> bool:
    """No subtype (edits, deletions, joins), no bot, a user to answer, and not a delivery
    of an event we already took."""
    if event.get("subtype") or event.get("bot_id") or not event.get("user"):
        return False
    if not wiring.dedup.first(f"event:{body.get('event_id')}"):
        log.info("ignored a repeated delivery of event %s", body.get("event_id"))
        return False
    return True
