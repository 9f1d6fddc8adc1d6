"""Deciding from the review card: approve, reject with a reason, or ask the submitter.

Ekuaibao's `backlog/data` acts as whichever approver the bot names, so this module is the
only guard between a click and a finance decision:

- Right before acting, everything is read now: the clicker's Slack email (users.info), the
  one active staff member with it, that the staff member is a current approver of the
  report (approveStates), that the report is `approving` at the node the card showed, and
  that its `actions` offer this. Any mismatch sends nothing and says why (audit line).
- One decision per (report, node, approver) is claimed in the shared ledger before the
  call. The phase is recorded before the call goes out: a task that finds its own claim
  at "sending" (redelivered after a crash) never sends again, it only confirms.
- The call only queues work: the result is polled, then the report's log must show the
  decision before the card says so. Unconfirmed after a while: the card says so.
"""

from __future__ import annotations

import logging
from typing import Any

from tasks.contracts import SAFE_ID, Decision
from tasks.ekuaibao.errors import BadRequest, EkuaibaoError
from tasks.review.decide.card import rerender
from tasks.review.decide.confirm import (
    confirm_decision,
    decision_key,
    own_record,
    recover_decision,
    refused_reply,
)
from tasks.review.decide.deps import ACTIONS, REUSE_S, STALE_S, DecideDeps, Wait
from tasks.review.decide.guard import Checked, Refused, audit, guard
from tasks.review.decide.notes import card_text, tell_decider
from tasks.shared.blocks import escape, slack_date
from tasks.shared.decide_texts import DecideTexts, decide_texts_for

log = logging.getLogger(__name__)


def decide(decision: Decision, deps: DecideDeps) -> None:
    """One Confirm. Raises Wait to be run again later (same decision id)."""
    texts = decide_texts_for(decision.language)
    try:
        checked = guard(deps, decision, texts)
    except Refused as refused:
        record = None
        moved = ("not a current approver", "report at another node", "report changed")
        if refused.reason in moved or refused.reason.startswith("report is"):
            record = own_record(deps, decision, refused.staff_id)
        if record is not None:  # our own call moved it on: confirm, don't refuse
            recover_decision(deps, decision, record, texts)
            return
        audit(decision, refused.staff_id, decision.node_id, f"refused: {refused.reason}")
        if refused.reason == "report changed" and rerender(
            deps.review, decision.flow_id, refused.staff_id, decision.language, refused.text
        ):
            return  # the card shows the report as it is now, saying it changed
        tell_decider(deps, decision, refused.text)
        return
    flow, staff_id = checked.report.flow, checked.staff_id
    node = checked.node_id
    key = decision_key(flow.flow_id, node, staff_id)
    record = _claim(deps, decision, checked, key, texts)
    if record is None:
        return
    code = escape(flow.code or flow.flow_id)
    if decision.what == "ask":
        _ask(deps, decision, checked, key, record, texts)
        return
    wait = deps.ledger.slot(deps.tenant, deps.interval_s)
    if wait > 0:
        if record.get("phase") != "queued":
            deps.ledger.put(key, {**record, "phase": "queued"})
            card_text(
                deps, flow, staff_id, texts.queued.format(code=code, seconds=int(wait) + 1), False
            )
            audit(decision, staff_id, node, f"queued {wait:.0f} s")
        raise Wait(wait)
    busy = texts.approving if decision.what == "approve" else texts.rejecting
    card_text(deps, flow, staff_id, busy.format(code=code), False)
    action = _action(decision)
    sent_at = deps.clock()
    deps.ledger.put(key, {**record, "phase": "sending", "sent_at": sent_at})
    try:
        batch = deps.review.api.submit(staff_id, [flow.flow_id], action)
    except BadRequest as exc:  # refused at once: nothing was queued
        reason = str(exc).split(": ", 1)[-1]
        refused_reply(deps, decision, flow, staff_id, node, key, reason, texts)
        return
    except EkuaibaoError as exc:  # unknown whether it was taken: confirm, never resend
        log.warning("decision on %s: %s; confirming through the report", flow.flow_id, exc)
        recover_decision(
            deps, decision, {**record, "phase": "sending", "sent_at": sent_at, "key": key}, texts
        )
        return
    deps.ledger.put(key, {**record, "phase": "sent", "sent_at": sent_at})
    audit(decision, staff_id, node, f"sent (total {batch.total}, residue {batch.residue})")
    confirm_decision(deps, decision, staff_id, node, key, sent_at, texts, poll=True)


def _action(decision: Decision) -> dict[str, str]:
    """What `backlog/data` is asked to do."""
    action: dict[str, str] = {"name": ACTIONS[decision.what]}
    if decision.comment:
        action["comment"] = decision.comment
    if decision.what == "reject":
        action["resubmitMethod"] = decision.resubmit_method
        if decision.reject_to:
            action["rejectTo"] = decision.reject_to
    return action


def _claim(
    deps: DecideDeps, decision: Decision, checked: Checked, key: str, texts: DecideTexts
) -> dict[str, Any] | None:
    """This decision's claim on (report, node, approver) in the ledger; None when the
    decision ended here (claimed by another, recovered, or abandoned)."""
    flow, staff_id, node = checked.report.flow, checked.staff_id, checked.node_id
    now = deps.clock()
    record = {
        "id": decision.decision_id,
        "phase": "claimed",
        "at": now,
        "what": decision.what,
        "user": decision.user_id,
    }
    existing = deps.ledger.claim(key, record)
    if existing is not None and existing.get("id") != decision.decision_id:
        phase, age = existing.get("phase"), now - float(existing.get("at", 0))
        # Never sent (died before the call), or the report came back to this node long
        # after a confirmed decision: the claim is free again.
        if (phase in ("claimed", "queued") and age >= STALE_S) or (
            phase in ("done", "unconfirmed") and age >= REUSE_S
        ):
            audit(decision, staff_id, node, f"earlier claim ({phase}) freed")
            deps.ledger.release(key)
            existing = deps.ledger.claim(key, record)
    if existing is not None and existing.get("id") != decision.decision_id:
        phase, age = existing.get("phase"), now - float(existing.get("at", 0))
        if phase in ("sending", "sent") and age >= STALE_S:
            recover_decision(deps, decision, {**existing, "key": key}, texts)
            return None
        what = texts.already if phase in ("done", "unconfirmed") else texts.in_progress
        audit(decision, staff_id, node, f"ignored: already claimed ({phase})")
        tell_decider(deps, decision, what.format(code=escape(flow.code or flow.flow_id)))
        return None
    if existing is not None:
        record = existing
        if record.get("phase") in ("sending", "sent"):
            recover_decision(deps, decision, {**record, "key": key}, texts)
            return None
        if record.get("phase") == "claimed":  # its run died before the call went out
            abandoned(deps, decision, checked, key, texts)
            return None
    return record


def _ask(
    deps: DecideDeps,
    decision: Decision,
    checked: Checked,
    key: str,
    record: dict[str, Any],
    texts: DecideTexts,
) -> None:
    """A comment @-mentioning the submitter; no decision, so the claim is freed after."""
    flow = checked.report.flow
    code = escape(flow.code or flow.flow_id)
    text = decision.comment.strip()
    if flow.submitter_id and SAFE_ID.fullmatch(flow.submitter_id):
        text = f"{{{flow.submitter_id}}} {text}"
    try:
        deps.review.api.comment(flow.flow_id, checked.staff_id, text)
    except BadRequest as exc:
        reason = str(exc).split(": ", 1)[-1]
        deps.ledger.release(key)
        audit(decision, checked.staff_id, checked.node_id, f"ask refused: {reason[:80]}")
        tell_decider(deps, decision, texts.ask_refused.format(code=code, reason=escape(reason)))
        return
    except EkuaibaoError:
        deps.ledger.release(key)
        raise
    deps.ledger.release(key)
    audit(decision, checked.staff_id, checked.node_id, "asked")
    note = texts.asked_note.format(who=f"<@{decision.user_id}>", when=slack_date(int(deps.clock())))
    if not rerender(deps.review, flow.flow_id, checked.staff_id, decision.language, note):
        tell_decider(deps, decision, texts.asked.format(code=code))


def abandoned(
    deps: DecideDeps, decision: Decision, checked: Checked, key: str, texts: DecideTexts
) -> None:
    """Its own claim, never sent: the worker that made it stopped before calling Ekuaibao
    (this is the redelivered task). The claim is freed and the card shows its buttons
    again, saying nothing was sent, so the person decides again when they choose."""
    deps.ledger.release(key)
    flow = checked.report.flow
    audit(decision, checked.staff_id, checked.node_id, "not sent: claim freed")
    code = escape(flow.code or flow.flow_id)
    note = texts.not_sent.format(code=code)
    if not rerender(deps.review, flow.flow_id, checked.staff_id, decision.language, note):
        tell_decider(deps, decision, note)


__all__ = ["abandoned", "decide"]
