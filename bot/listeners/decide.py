"""Approve, Reject… and Ask the submitter… on a review card, and their modals.

A click opens the modal at once (Slack's trigger_id lives 3 s) saying "checking"; the
worker checks the clicker and the report, then fills it in or says why not. Confirm is
validated here (a rejection needs a reason) and queued. Clicks and modals carry only the
flow id and node, and a modal also the version of the report it showed; `private_metadata`
is read for nothing else, and the worker re-reads everything before acting. The bot signs
each decision when it queues it (`bot.enqueue`).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.enqueue import EnqueueFailed
from bot.wiring import Wiring, wiring_of
from tasks.contracts import SAFE_ID, Decision, DecisionRef, DecisionWhat
from tasks.shared.decide_views import loading_view

log = logging.getLogger(__name__)
_WHAT: dict[str, DecisionWhat] = {
    "decide_approve": "approve",
    "decide_reject": "reject",
    "decide_ask": "ask",
}


def _text(values: dict[str, Any], block: str) -> str:
    element = (values.get(block) or {}).get("text") or {}
    return str(element.get("value") or "").strip()[:3000]


def _picked(values: dict[str, Any], block: str) -> str:
    element = (values.get(block) or {}).get("pick") or {}
    return str((element.get("selected_option") or {}).get("value") or "")


def register(app: App) -> None:
    for action_id in _WHAT:
        app.action(action_id)(decide_clicked)
    app.view(re.compile(r"^decide_(approve|reject|ask)$"))(decide_submitted)


def decide_clicked(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    """Approve, Reject or Ask on a review card: open the "checking" modal, queue the check."""
    ack()
    what = _WHAT.get(str(action.get("action_id") or ""))
    if what is None:
        log.warning("ignored a decide click on an unknown button")
        return
    _open_and_queue(wiring_of(context), what, body, action, client)


def _open_and_queue(
    wiring: Wiring,
    what: DecisionWhat,
    body: dict[str, Any],
    action: dict[str, Any],
    client: WebClient,
) -> None:
    user = str((body.get("user") or {}).get("id", ""))
    ids = DecisionRef.decode(action.get("value"))
    if ids is None:
        log.warning("ignored a %s click with a malformed value", what)
        return
    container = body.get("container") or {}
    click = f"decide:{user}:{what}:{container.get('message_ts')}:{action.get('value')}"
    if not wiring.first_click(click):
        log.info("ignored a double click on %s by %s", what, user)
        return
    language = wiring.language.for_user(user)
    try:
        opened = client.views_open(
            trigger_id=str(body.get("trigger_id") or ""),
            view=loading_view(what, ids.flow_id, ids.node_id, language),
        )
    except SlackApiError as exc:
        log.warning("could not open the %s modal: %s", what, exc.response.get("error"))
        return
    view_id = str((opened.get("view") or {}).get("id") or "")
    try:
        wiring.enqueue(
            Decision(
                step="prepare",
                what=what,
                user_id=user,
                team_id=str((body.get("team") or {}).get("id", "")),
                flow_id=ids.flow_id,
                node_id=ids.node_id,
                view_id=view_id,
                language=language,
            )
        )
    except EnqueueFailed:
        log.error("could not queue the %s modal of %s", what, user)


def decide_submitted(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext
) -> None:
    """Confirm in a decide modal: a rejection needs a reason, a question its text; then queue."""
    from tasks.shared.decide_texts import decide_texts_for

    wiring = wiring_of(context)

    user = str((body.get("user") or {}).get("id", ""))
    what = _WHAT.get(str(view.get("callback_id") or ""))
    ids = DecisionRef.decode(view.get("private_metadata"))
    language = wiring.language.for_user(user)
    texts = decide_texts_for(language)
    if what is None or ids is None:
        log.warning("ignored a decision modal with malformed ids")
        ack()
        return
    values = (view.get("state") or {}).get("values") or {}
    comment = _text(values, "comment")
    reject_to, method = "", "FROM_START"
    if what == "reject":
        comment = _text(values, "reason")
        if not comment:
            ack(response_action="errors", errors={"reason": texts.reason_required})
            return
        target = _picked(values, "reject_to")
        reject_to = target if target != "submitter" and SAFE_ID.fullmatch(target) else ""
        method = "TO_REJECTOR" if _picked(values, "resubmit") == "TO_REJECTOR" else method
    elif what == "ask":
        comment = _text(values, "question")
        if not comment:
            ack(response_action="errors", errors={"question": texts.question_required})
            return
    try:
        wiring.enqueue(
            Decision(
                step="decide",
                what=what,
                user_id=user,
                team_id=str((body.get("team") or {}).get("id", "")),
                flow_id=ids.flow_id,
                node_id=ids.node_id,
                version=ids.version,
                comment=comment,
                reject_to=reject_to,
                resubmit_method="TO_REJECTOR" if method == "TO_REJECTOR" else "FROM_START",
                language=language,
            )
        )
    except EnqueueFailed:
        block = {"approve": "comment", "reject": "reason", "ask": "question"}[what]
        ack(response_action="errors", errors={block: texts.cannot_queue})
        return
    ack()
