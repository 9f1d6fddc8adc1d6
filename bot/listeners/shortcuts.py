"""The "Look up invoices" message shortcut: ids and report codes in any message."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.parsing import find_in_prose
from bot.wiring import wiring_of
from tasks.contracts import ReplyTarget

log = logging.getLogger(__name__)
CALLBACK_ID = "lookup_invoices"


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


def register(app: App) -> None:
    app.shortcut(CALLBACK_ID)(look_up_invoices)


def look_up_invoices(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    wiring = wiring_of(context)
    ack()
    message = body.get("message") or {}
    text = "\n".join(dict.fromkeys(_texts_of(message)))
    user = str((body.get("user") or {}).get("id", ""))
    target = ReplyTarget(
        team_id=str((body.get("team") or {}).get("id", "")),
        channel_id=str((body.get("channel") or {}).get("id", "")),
        user_id=user,
        response_url=str(body.get("response_url", "")),
        replace_original=False,  # the clicked message is not ours to replace
        language=wiring.language.for_user(user),
    )
    wiring.answer(target, find_in_prose(text), "shortcut_nothing_found")
