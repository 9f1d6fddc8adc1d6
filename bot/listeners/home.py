""" "Look up again" on the Home tab: the lookup runs again and its answer goes to the
person's DM with the bot (a Home tab click brings no response_url).

The button's value is a `ButtonValue` (ids or a report, and whose it is); it is checked
like any input, and only its owner may use it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.enqueue import EnqueueFailed
from bot.wiring import wiring_of
from tasks.contracts import ButtonValue, LookupRequest

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.action(re.compile(r"^home_again_\d+$"))(look_up_again)


def look_up_again(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    ack()
    wiring = wiring_of(context)
    user = str((body.get("user") or {}).get("id", ""))
    value = ButtonValue.decode(action.get("value"))
    if value is None or not user or (value.owner and value.owner != user):
        log.warning("ignored a Look up again click with a malformed or foreign value")
        return
    if not wiring.first_click(f"click:{user}:home_again:{action.get('value')}"):
        log.info("ignored a double click on Look up again by %s", user)
        return
    try:
        channel = str(client.conversations_open(users=user)["channel"]["id"])
    except (SlackApiError, KeyError, TypeError) as exc:
        log.error("could not open the DM of %s for Look up again: %s", user, type(exc).__name__)
        return
    try:
        wiring.enqueue(
            LookupRequest(
                ids=value.ids,
                report=value.report,
                team_id=str((body.get("team") or {}).get("id", "")),
                channel_id=channel,
                user_id=user,
                owner_id=user,
                reply_via="channel",
                language=wiring.language.for_user(user),
            )
        )
    except EnqueueFailed:
        log.error("could not queue the Look up again click of %s", user)
