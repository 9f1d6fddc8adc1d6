"""The review's Slack side: an approver's Slack user (by their staff email, and only a
full member of this organisation: tasks.slack.identity), posting and updating cards, and
the audit line of who was told what."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from tasks.ekuaibao.approval_models import Staff
from tasks.review.deps import ReviewDeps
from tasks.slack.attachments import without_pictures
from tasks.slack.identity import Refusal
from tasks.state.review_cards import Card

log = logging.getLogger(__name__)
#: Who was told what: flow, staff and Slack ids only, never emails, names or links.
audit_log = logging.getLogger("invoicebot.audit")


class NoSlackUser(Exception):
    pass


def slack_user_of(deps: ReviewDeps, staff_id: str, staff: Staff | None) -> str:
    """Their Slack user, found by the email on their Ekuaibao staff record."""
    if staff is None:
        staff = deps.api.staff([staff_id]).get(staff_id)
    if staff is None or not staff.email:
        log.warning(
            "admin: Ekuaibao staff %s has no active record with an email; no DM sent", staff_id
        )
        raise NoSlackUser(staff_id)
    try:
        answer = deps.slack.users_lookupByEmail(email=staff.email)
    except SlackApiError as exc:
        error = str(exc.response.get("error", "error"))
        log.warning(
            "admin: no Slack user has the email of Ekuaibao staff %s (%s); no DM sent",
            staff_id,
            error,
        )
        raise NoSlackUser(staff_id) from None
    user = answer.get("user")
    found = deps.identity.check(user if isinstance(user, dict) else {}, "receive review cards")
    if isinstance(found, Refusal):
        log.warning(
            "admin: the Slack user with the email of Ekuaibao staff %s may not get review "
            "cards (%s); no DM sent",
            staff_id,
            found.reason,
        )
        raise NoSlackUser(staff_id)
    return found.user_id


def _refused_pictures(exc: SlackApiError, message: dict[str, Any]) -> dict[str, Any] | None:
    """The card without its thumbnails when Slack could not download one of them."""
    if exc.response.get("error") != "invalid_blocks":
        return None
    bare = without_pictures(message)
    if bare is not None:
        log.warning("Slack refused the card with its thumbnails; sending it without them")
    return bare


def post_card(
    deps: ReviewDeps, channel: str, message: dict[str, Any], thread_ts: str | None = None
) -> tuple[str, str] | None:
    def post(body: dict[str, Any]) -> Any:
        return deps.slack.chat_postMessage(
            channel=channel,
            text=body["text"],
            blocks=body.get("blocks"),
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
        )

    try:
        try:
            answer = post(message)
        except SlackApiError as exc:
            if (bare := _refused_pictures(exc, message)) is None:
                raise
            answer = post(bare)
    except SlackApiError as exc:
        log.error("could not post to %s: %s", channel, exc.response.get("error", "error"))
        return None
    return str(answer.get("channel") or channel), str(answer.get("ts") or "")


def update_card(deps: ReviewDeps, known: Card, message: dict[str, Any]) -> bool:
    def update(body: dict[str, Any]) -> None:
        deps.slack.chat_update(
            channel=known.channel, ts=known.ts, text=body["text"], blocks=body.get("blocks", [])
        )

    try:
        try:
            update(message)
        except SlackApiError as exc:
            if (bare := _refused_pictures(exc, message)) is None:
                raise
            update(bare)
        return True
    except SlackApiError as exc:
        log.warning(
            "could not update the card %s in %s: %s",
            known.ts,
            known.channel,
            exc.response.get("error", "error"),
        )
        return False


def write_audit(flow_id: str, staff_id: str, slack_user: str, outcome: str) -> None:
    audit_log.info(
        "review flow=%s staff=%s user=%s outcome=%s", flow_id, staff_id, slack_user, outcome
    )
