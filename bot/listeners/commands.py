"""`/invoice`: parse, enqueue one task, acknowledge within Slack's 3 seconds."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App

from bot.enqueue import Enqueue, EnqueueFailed
from bot.parsing import Lookup, Malformed, ShowHelp, TooMany, parse_command
from tasks import render
from tasks.contracts import LookupRequest
from tasks.texts import Texts

log = logging.getLogger(__name__)

#: `/invoice`, and variants such as `/invoice-dev` for a second app on the same code.
COMMAND = re.compile(r"^/invoice[\w-]*$")


def register(app: App, enqueue: Enqueue, texts: Texts) -> None:
    @app.command(COMMAND)
    def invoice_command(ack: Ack, command: dict[str, Any]) -> None:
        """Everything here is local and fast; the only I/O is one broker publish."""
        parsed = parse_command(command.get("text"))
        if isinstance(parsed, ShowHelp):
            ack(response_type="ephemeral", **render.usage(texts))
        elif isinstance(parsed, TooMany):
            ack(response_type="ephemeral", **render.too_many(parsed.count, parsed.limit, texts))
        elif isinstance(parsed, Malformed):
            ack(response_type="ephemeral", **render.malformed(parsed.tokens, texts))
        elif isinstance(parsed, Lookup):
            _lookup(ack, command, parsed, enqueue, texts)

    @app.action(re.compile(r"^open_attachment_\d+$"))
    def open_attachment(ack: Ack) -> None:
        """Link buttons still send an action; acknowledging keeps Slack from showing a warning."""
        ack()


def _lookup(
    ack: Ack, command: dict[str, Any], parsed: Lookup, enqueue: Enqueue, texts: Texts
) -> None:
    request = LookupRequest(
        ids=parsed.ids,
        team_id=str(command.get("team_id", "")),
        channel_id=str(command.get("channel_id", "")),
        user_id=str(command.get("user_id", "")),
        response_url=str(command.get("response_url", "")),
    )
    try:
        enqueue(request)
    except EnqueueFailed:
        ack(response_type="ephemeral", **render.simple(texts.cannot_queue))
        return
    log.info(
        "queued lookup %s: %d ids for user %s in %s",
        request.request_id,
        len(request.ids),
        request.user_id,
        request.channel_id,
    )
    ack(response_type="ephemeral", **render.looking_up(len(request.ids), texts))
