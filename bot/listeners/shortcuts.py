"""The "Look up invoices" message shortcut: ids and report codes in any message."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot import payloads
from bot.parsing import find_in_prose
from bot.payloads import Skip
from bot.wiring import wiring_of
from tasks.contracts import ReplyTarget

log = logging.getLogger(__name__)
CALLBACK_ID = "lookup_invoices"


def register(app: App) -> None:
    app.shortcut(CALLBACK_ID)(look_up_invoices)


def look_up_invoices(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    wiring = wiring_of(context)
    ack()
    shortcut = payloads.message_shortcut(body)
    if isinstance(shortcut, Skip):
        log.warning("dropped a message shortcut: %s", shortcut.reason)
        return
    target = ReplyTarget(
        team_id=shortcut.team_id,
        channel_id=shortcut.channel_id,
        user_id=shortcut.user_id,
        response_url=shortcut.response_url,
        replace_original=False,  # the clicked message is not ours to replace
        language=wiring.language.for_user(shortcut.user_id),
    )
    wiring.answer(target, find_in_prose(shortcut.text), "shortcut_nothing_found")
