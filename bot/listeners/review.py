"""Reviews: `/invoice review` (or `待审批`) and a DM saying "review" list what waits for the
asker; the buttons on review cards; the Home tab, refreshed at most once a minute.

Button values carry only the report's flow id (and a page): the worker decides whether
the clicker is still its approver, so an old card's click can do no harm.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot import payloads
from bot.enqueue import EnqueueFailed
from bot.payloads import Skip
from bot.wiring import Wiring, wiring_of
from tasks.contracts import ReviewAsk, ReviewAskKind

log = logging.getLogger(__name__)

#: What asks for the queue, after `/invoice` or alone in a DM.
REVIEW_WORDS = frozenset({"review", "reviews", "待审批", "审批", "queue"})
_FLOW_ID = re.compile(r"[A-Za-z0-9_$-]{1,64}")
#: The Home tab is rebuilt at most this often per person.
HOME_EVERY_S = 60
_BUTTONS: dict[str, ReviewAskKind] = {
    "review_refresh": "refresh",
    "review_open": "open",
    "review_more": "more",
    "review_card": "card",
}


def asks_for_review(text: str | None) -> bool:
    return (text or "").strip().strip(".!?。！？").lower() in REVIEW_WORDS


def register(app: App) -> None:
    for action_id in _BUTTONS:
        # a list's buttons need ids of their own: review_card_0, review_card_1, …
        app.action(re.compile(rf"^{action_id}(?:_\d+)?$"))(review_clicked)

    app.event("app_home_opened")(home_opened)


def _kind(action_id: str) -> ReviewAskKind | None:
    """Which button of a review card: its action id without the list index."""
    return _BUTTONS.get(re.sub(r"_\d+$", "", action_id))


def home_opened(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
    wiring = wiring_of(context)
    opened = payloads.home_opened(event, body)
    if isinstance(opened, Skip):
        return
    if not wiring.dedup.first(f"home:{opened.user}", ttl_s=HOME_EVERY_S):
        return  # opened again within the minute (or Slack's double event)
    try:
        wiring.enqueue(ReviewAsk(kind="home", user_id=opened.user, team_id=opened.team_id))
    except EnqueueFailed:
        log.error("could not queue the Home tab of %s", opened.user)


def review_clicked(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext
) -> None:
    """A button on a review card: queue what it asks for (the worker checks the clicker)."""
    ack()
    kind = _kind(str(action.get("action_id") or ""))
    if kind is None:
        log.warning("ignored a review click on an unknown button")
        return
    _queue_click(wiring_of(context), kind, body, action)


def _queue_click(
    wiring: Wiring, kind: ReviewAskKind, body: dict[str, Any], action: dict[str, Any]
) -> None:
    user = str((body.get("user") or {}).get("id", ""))
    container = body.get("container") or {}
    try:
        value = json.loads(action.get("value") or "")
    except ValueError:
        value = None
    if not isinstance(value, dict) or not _FLOW_ID.fullmatch(str(value.get("f") or "")):
        log.warning("ignored a %s click with a malformed value", kind)
        return
    page = value.get("p", 0)
    if not isinstance(page, int) or not 0 <= page <= 1000:
        return
    click = f"click:{user}:{kind}:{container.get('message_ts')}:{action.get('value')}"
    if not wiring.first_click(click):
        log.info("ignored a double click on %s by %s", kind, user)
        return
    ask = ReviewAsk(
        kind=kind,
        user_id=user,
        team_id=str((body.get("team") or {}).get("id", "")),
        response_url=str(body.get("response_url", "")),
        flow_id=str(value["f"]),
        page=page,
        channel_id=str(container.get("channel_id") or (body.get("channel") or {}).get("id") or ""),
        message_ts=str(container.get("message_ts") or ""),
        language=wiring.language.for_user(user),
    )
    try:
        wiring.enqueue(ask)
    except EnqueueFailed:
        log.error("could not queue the %s click of %s", kind, user)


def queue(wiring: Wiring, fields: dict[str, Any], language: str | None) -> str:
    """Queue the asker's review list; returns the words of the acknowledgement."""
    from tasks.shared.review_texts import review_texts_for

    user = str(fields.get("user_id", ""))
    language = language or wiring.language.for_user(user)
    review = review_texts_for(language)
    try:
        wiring.enqueue(
            ReviewAsk(
                kind="queue",
                user_id=user,
                team_id=str(fields.get("team_id", "")),
                response_url=str(fields.get("response_url", "")),
                channel_id=str(fields.get("channel_id", ""))
                if not fields.get("response_url")
                else "",
                language=language,
            )
        )
    except EnqueueFailed:
        from tasks.shared.texts import texts_for

        return texts_for(language).cannot_queue
    return review.queue_asking
