"""DMs to the bot and @mentions in channels: find ids in free text, answer where asked.

Slack retries an event it thinks we missed; the event id is remembered so a retry is
never answered twice. Edits, deletions and bot messages (our own included) are ignored.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App

from bot.enqueue import EnqueueFailed
from bot.parsing import Found, find_in_prose
from bot.wiring import Wiring
from tasks.contracts import LookupRequest, Notice, ReplyTarget

log = logging.getLogger(__name__)


def register(app: App, wiring: Wiring) -> None:
    @app.event("message")
    def direct_message(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("channel_type") != "im" or not _from_a_person(event):
            return
        if not wiring.dedup.first(f"event:{body.get('event_id')}"):
            log.info("ignored a repeated delivery of event %s", body.get("event_id"))
            return
        target = ReplyTarget(
            team_id=str(body.get("team_id", "")),
            channel_id=str(event["channel"]),
            user_id=str(event["user"]),
            reply_via="channel",
        )
        _answer(wiring, target, find_in_prose(event.get("text")), "dm_hint")

    @app.event("app_mention")
    def mention(event: dict[str, Any], body: dict[str, Any]) -> None:
        if not _from_a_person(event):
            return
        if not wiring.dedup.first(f"event:{body.get('event_id')}"):
            log.info("ignored a repeated delivery of event %s", body.get("event_id"))
            return
        target = ReplyTarget(
            team_id=str(body.get("team_id", "")),
            channel_id=str(event["channel"]),
            user_id=str(event["user"]),
            reply_via="ephemeral",
            thread_ts=str(event.get("thread_ts") or event["ts"]),
            reaction_ts=str(event["ts"]),
        )
        _answer(wiring, target, find_in_prose(event.get("text")), "mention_hint")


def _from_a_person(event: dict[str, Any]) -> bool:
    """No subtype (edits, deletions, joins), no bot, and a user to answer."""
    return not event.get("subtype") and not event.get("bot_id") and bool(event.get("user"))


def _answer(wiring: Wiring, target: ReplyTarget, found: Found, hint: str) -> None:
    """One lookup for the ids, one per report; a hint when there is nothing to look up."""
    fields = target.model_dump()
    fields["language"] = wiring.language.for_user(target.user_id)
    try:
        if not found:
            wiring.enqueue(Notice(text_key=hint, **fields))
            return
        if found.ids:
            wiring.enqueue(LookupRequest(ids=found.ids, **fields))
        for report in found.reports:
            wiring.enqueue(LookupRequest(report=report, **fields))
    except EnqueueFailed:
        log.error("could not queue the lookup for an event from %s", target.user_id)
