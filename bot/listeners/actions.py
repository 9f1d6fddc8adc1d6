"""Buttons on replies: refresh links, share in channel, get my links, show more, preview.

Each button's value carries what is needed to redo its message hours later (the ids, or
the report, page and part) and who it belongs to. The click brings a fresh response_url,
valid 30 minutes from the click, so a refresh works long after the first reply.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.enqueue import EnqueueFailed
from bot.wiring import Wiring, wiring_of
from tasks.contracts import ButtonValue, LookupRequest, Mode, Notice, PreviewButton, PreviewRequest

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.action("refresh_links")(refresh_links)
    app.action("share_in_channel")(share_in_channel)
    app.action("get_my_links")(get_my_links)
    app.action("show_more")(show_more)
    app.action("keep_in_dm")(keep_in_dm)
    app.action(re.compile(r"^open_attachment_\d+$"))(open_attachment)
    app.action(re.compile(r"^preview_file_\d+$"))(preview_file)


def refresh_links(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext
) -> None:
    ack()
    _redo(wiring_of(context), body, action, mode="full", replace=True, owner_only=True)


def share_in_channel(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext
) -> None:
    ack()
    _redo(wiring_of(context), body, action, mode="share", replace=False, owner_only=True)


def get_my_links(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext
) -> None:
    ack()
    _redo(wiring_of(context), body, action, mode="links", replace=False, owner_only=False)


def show_more(ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
    ack()
    _redo(
        wiring_of(context),
        body,
        action,
        mode="full",
        replace=False,
        owner_only=True,
        whole_page=True,
    )


def keep_in_dm(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext
) -> None:
    """The same reply, with its buttons, posted to the owner's DM with the bot, where it lasts
    (an ephemeral one vanishes on reload and on mobile)."""
    ack()
    _redo(wiring_of(context), body, action, mode="full", replace=False, owner_only=True, dm=True)


def open_attachment(ack: Ack) -> None:
    """Link buttons still send an action; acknowledging keeps Slack from showing a warning."""
    ack()


def preview_file(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext
) -> None:
    """One file rendered by a worker for the person who clicked: the owner of the reply or
    the card, as for Refresh links; the worker checks their access again."""
    ack()
    wiring = wiring_of(context)
    user = _first_click(wiring, body, action)
    if user is None:
        return
    value = PreviewButton.decode(action.get("value"))
    if value is None:
        log.warning("ignored a %s click with a malformed value", action.get("action_id"))
        return
    container = body.get("container") or {}
    fields = _reply_fields(wiring, body, user, replace=False)
    try:
        if value.owner and value.owner != user:
            wiring.enqueue(Notice(text_key="not_yours_preview", **fields))
            return
        # On a card, or on a page of its invoices in the card's thread: that thread.
        card = container.get("thread_ts") or container.get("message_ts") or ""
        card_ts = str(card) if value.on_card else ""
        wiring.enqueue(
            PreviewRequest(
                invoice_id=value.invoice_id, file_name=value.file_name, card_ts=card_ts, **fields
            )
        )
    except EnqueueFailed:
        log.error("could not queue the %s click of %s", action.get("action_id"), user)


def _redo(
    wiring: Wiring,
    body: dict[str, Any],
    action: dict[str, Any],
    *,
    mode: Mode,
    replace: bool,
    owner_only: bool,
    whole_page: bool = False,
    dm: bool = False,
) -> None:
    user = _first_click(wiring, body, action)
    if user is None:
        return
    value = ButtonValue.decode(action.get("value"))
    if value is None:
        log.warning("ignored a %s click with a malformed value", action.get("action_id"))
        return
    container = body.get("container") or {}
    fields = _reply_fields(wiring, body, user, replace=replace)
    # A click on a lasting message (a kept DM copy) redoes a lasting message.
    fields["kept"] = dm or container.get("is_ephemeral") is False
    owner = value.owner or user
    try:
        if owner_only and owner != user:
            wiring.enqueue(Notice(text_key="not_yours", **{**fields, "replace_original": False}))
            return
        wiring.enqueue(
            LookupRequest(
                ids=value.ids,
                report=value.report,
                page=value.page,
                part=None if whole_page else value.part,
                mode=mode,
                owner_id=user if mode == "links" else owner,
                **fields,
                **({"reply_via": "dm"} if dm else {}),
            )
        )
    except EnqueueFailed:
        log.error("could not queue the %s click of %s", action.get("action_id"), user)


def _first_click(wiring: Wiring, body: dict[str, Any], action: dict[str, Any]) -> str | None:
    """Who clicked, or None for the second click of a double click on the same message."""
    user = str((body.get("user") or {}).get("id", ""))
    message_ts = (body.get("container") or {}).get("message_ts")
    click = f"click:{user}:{action.get('action_id')}:{message_ts}:{action.get('value')}"
    if not wiring.first_click(click):
        log.info("ignored a double click on %s by %s", action.get("action_id"), user)
        return None
    return user


def _reply_fields(
    wiring: Wiring, body: dict[str, Any], user: str, *, replace: bool
) -> dict[str, Any]:
    """Where a click's answer goes: its conversation and fresh response_url, in the
    clicker's language."""
    container = body.get("container") or {}
    return {
        "team_id": str((body.get("team") or {}).get("id", "")),
        "channel_id": str(
            (body.get("channel") or {}).get("id") or container.get("channel_id") or ""
        ),
        "user_id": user,
        "response_url": str(body.get("response_url", "")),
        "replace_original": replace,
        "language": wiring.language.for_user(user),
    }
