"""Buttons on replies: refresh links, share in channel, get my links, show more.

Each button's value carries what is needed to redo its message hours later (the ids, or
the report, page and part) and who it belongs to. The click brings a fresh response_url,
valid 30 minutes from the click, so a refresh works long after the first reply.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_bolt import Ack, App

from bot.enqueue import EnqueueFailed
from bot.parsing import _ID
from bot.wiring import Wiring
from tasks.contracts import MAX_IDS, LookupRequest, Mode, Notice

log = logging.getLogger(__name__)
#: Two clicks of the same button within this many seconds are one click.
DOUBLE_CLICK_S = 3


def register(app: App, wiring: Wiring) -> None:
    @app.action("refresh_links")
    def refresh_links(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        _redo(wiring, body, action, mode="full", replace=True, owner_only=True)

    @app.action("share_in_channel")
    def share_in_channel(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        _redo(wiring, body, action, mode="share", replace=False, owner_only=True)

    @app.action("get_my_links")
    def get_my_links(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        _redo(wiring, body, action, mode="links", replace=False, owner_only=False)

    @app.action("show_more")
    def show_more(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        _redo(wiring, body, action, mode="full", replace=False, owner_only=True, whole_page=True)

    @app.action(re.compile(r"^open_attachment_\d+$"))
    def open_attachment(ack: Ack) -> None:
        """Link buttons still send an action; acknowledging keeps Slack from showing a warning."""
        ack()


def _redo(
    wiring: Wiring,
    body: dict[str, Any],
    action: dict[str, Any],
    *,
    mode: Mode,
    replace: bool,
    owner_only: bool,
    whole_page: bool = False,
) -> None:
    user = str((body.get("user") or {}).get("id", ""))
    container = body.get("container") or {}
    message_ts = container.get("message_ts")
    click = f"click:{user}:{action.get('action_id')}:{message_ts}:{action.get('value')}"
    if not wiring.dedup.first(click, ttl_s=DOUBLE_CLICK_S):
        log.info("ignored a double click on %s by %s", action.get("action_id"), user)
        return
    value = _value(action.get("value"))
    if value is None:
        log.warning("ignored a %s click with a malformed value", action.get("action_id"))
        return
    fields: dict[str, Any] = {
        "team_id": str((body.get("team") or {}).get("id", "")),
        "channel_id": str(
            (body.get("channel") or {}).get("id") or container.get("channel_id") or ""
        ),
        "user_id": user,
        "response_url": str(body.get("response_url", "")),
        "replace_original": replace,
        "language": wiring.language.for_user(user),
    }
    owner = str(value.get("u") or user)
    try:
        if owner_only and owner != user:
            wiring.enqueue(Notice(text_key="not_yours", **{**fields, "replace_original": False}))
            return
        wiring.enqueue(
            LookupRequest(
                ids=tuple(value.get("i") or ()),
                report=str(value.get("r") or ""),
                page=int(value.get("p") or 0),
                part=None if whole_page or value.get("m") is None else int(value["m"]),
                mode=mode,
                owner_id=user if mode == "links" else owner,
                **fields,
            )
        )
    except EnqueueFailed:
        log.error("could not queue the %s click of %s", action.get("action_id"), user)


def _value(raw: Any) -> dict[str, Any] | None:
    """Our own button values, checked anyway: ids and report must look like ids."""
    try:
        value = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    ids = value.get("i") or []
    report = value.get("r") or ""
    if not isinstance(ids, list) or len(ids) > MAX_IDS:
        return None
    if not all(isinstance(i, str) and _ID.fullmatch(i) for i in ids):
        return None
    if not isinstance(report, str) or (report and not _ID.fullmatch(report)):
        return None
    if not ids and not report:
        return None
    for key in ("p", "m"):
        if key in value and not (isinstance(value[key], int) and 0 <= value[key] < 10_000):
            return None
    return value
