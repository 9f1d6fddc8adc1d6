"""`/invoice`: parse, enqueue one task, acknowledge within Slack's 3 seconds."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.enqueue import EnqueueFailed
from bot.listeners import review
from bot.parsing import (
    Lookup,
    Malformed,
    ReportLookup,
    ReportUsage,
    ShowHelp,
    TooMany,
    parse_command,
)
from bot.wiring import wiring_of
from tasks.contracts import LookupRequest
from tasks.shared import acks

log = logging.getLogger(__name__)

#: `/invoice`, and variants such as `/invoice-dev` for a second app on the same code.
COMMAND = re.compile(r"^/invoice[\w-]*$")


def register(app: App) -> None:
    app.command(COMMAND)(invoice_command)


def invoice_command(ack: Ack, command: dict[str, Any], context: BoltContext) -> None:
    """Everything here is local and fast; the I/O is one broker publish (and, once an
    hour per user, reading their locale)."""
    wiring = wiring_of(context)
    language, texts = wiring.texts(str(command.get("user_id", "")))
    if review.asks_for_review(command.get("text")):
        ack(response_type="ephemeral", text=review.queue(wiring, command, language))
        return
    parsed = parse_command(command.get("text"))
    if isinstance(parsed, ShowHelp):
        ack(response_type="ephemeral", **acks.usage(texts))
    elif isinstance(parsed, ReportUsage):
        ack(response_type="ephemeral", **acks.simple(texts.report_usage))
    elif isinstance(parsed, TooMany):
        ack(response_type="ephemeral", **acks.too_many(parsed.count, parsed.limit, texts))
    elif isinstance(parsed, Malformed):
        ack(response_type="ephemeral", **acks.malformed(parsed.tokens, texts))
    else:
        request = LookupRequest(
            ids=parsed.ids if isinstance(parsed, Lookup) else (),
            report=parsed.report if isinstance(parsed, ReportLookup) else "",
            team_id=str(command.get("team_id", "")),
            channel_id=str(command.get("channel_id", "")),
            user_id=str(command.get("user_id", "")),
            response_url=str(command.get("response_url", "")),
            language=language,
        )
        try:
            wiring.enqueue(request)
        except EnqueueFailed:
            ack(response_type="ephemeral", **acks.simple(texts.cannot_queue))
            return
        log.info(
            "queued lookup %s: %d ids%s for user %s in %s",
            request.request_id,
            len(request.ids),
            f", report {request.report}" if request.report else "",
            request.user_id,
            request.channel_id,
        )
        if request.report:
            ack(response_type="ephemeral", **acks.looking_up_report(request.report, texts))
        else:
            ack(response_type="ephemeral", **acks.looking_up(len(request.ids), texts))
