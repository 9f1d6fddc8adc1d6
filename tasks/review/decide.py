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

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError

from tasks.contracts import Decision
from tasks.ekuaibao.decide import DecideApi, License, Report
from tasks.ekuaibao.errors import BadRequest, EkuaibaoError
from tasks.ekuaibao.review import SAFE_ID
from tasks.ekuaibao.review_models import Flow, FlowGone, Stage
from tasks.review.decide_card import rerender
from tasks.review.deps import ReviewDeps
from tasks.review.ledger import Ledger
from tasks.review.messages import _update, audit_log
from tasks.slack.blocks import Block, Message, escape, section, slack_date
from tasks.slack.decide_texts import DecideTexts, decide_texts_for
from tasks.slack.decide_views import loading_view

log = logging.getLogger(__name__)

#: Charge powers are asked again after this long (at start-up, then hourly).
LICENSE_TTL_S = 3600
#: A claim that made no progress this long is looked at again by the next click.
STALE_S = 90
#: A confirmed decision blocks its (report, node, approver) this long; after that, the
#: report may have come back to the same node.
REUSE_S = 300
#: After this long without Ekuaibao confirming, the card says "not confirmed".
CONFIRM_S = 75
#: Result polls after the submit (s), inside its 60-second window.
POLLS = (0.3, 0.7, 1.5, 3, 5, 10, 20)
ACTIONS = {"approve": "freeflow.agree", "reject": "freeflow.reject"}


class Wait(Exception):
    """Try this decision again in `seconds` (the tenant's slot, or Ekuaibao still busy)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"again in {seconds:.1f} s")
        self.seconds = seconds


@dataclass
class DecideDeps:
    review: ReviewDeps
    api: DecideApi
    ledger: Ledger
    enabled: bool
    interval_s: float
    tenant: str = "tenant"
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    _license: tuple[float, License] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def license(self) -> License:
        with self._lock:
            if self._license and self.clock() - self._license[0] < LICENSE_TTL_S:
                return self._license[1]
        try:
            found = self.api.license()
        except EkuaibaoError as exc:
            found = License(False, f"charge/powers/list failed: {exc}")
            log.warning("could not read Ekuaibao's charge powers: %s", exc)
            return found  # not cached: asked again next time
        with self._lock:
            self._license = (self.clock(), found)
        if not found.licensed:
            log.warning("deciding in Slack is unavailable: %s", found.why)
        return found

    @property
    def active(self) -> bool:
        return self.enabled and self.license().licensed


# -- buttons on the review card ------------------------------------------------------------


def _value(flow: Flow) -> str:
    return json.dumps({"f": flow.flow_id, "n": flow.node_id}, separators=(",", ":"))


def buttons(flow: Flow, staff_id: str, texts: DecideTexts) -> list[Block]:
    """What `actions` lets this approver do now (select.approver: Ekuaibao only)."""
    allowed = flow.actions.get(staff_id, ())
    found: list[Block] = []

    def button(action_id: str, label: str, style: str | None = None) -> Block:
        block: Block = {
            "type": "button",
            "action_id": action_id,
            "text": {"type": "plain_text", "text": label},
            "value": _value(flow),
        }
        if style:
            block["style"] = style
        return block

    if flow.state != "approving":
        return found
    if "freeflow.agree" in allowed and "freeflow.select.approver" not in allowed:
        found.append(button("decide_approve", texts.approve_button, "primary"))
    if "freeflow.reject" in allowed:
        found.append(button("decide_reject", texts.reject_button, "danger"))
    if allowed:
        found.append(button("decide_ask", texts.ask_button))
    return found


def with_buttons(
    deps: DecideDeps | None, message: Message, flow: Flow, staff_id: str, language: str | None
) -> Message:
    """The review card, plus the decision buttons when deciding here is on and licensed."""
    if deps is None or not deps.active:
        return message
    extra = buttons(flow, staff_id, decide_texts_for(language))
    if not extra:
        return message
    for block in message.get("blocks", []):
        if block.get("type") == "actions" and str(block.get("block_id", "")).startswith("review:"):
            block["elements"] = [*extra, *block["elements"]][:25]
    return message


# -- the guard -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    staff_id: str
    report: Report
    stage: Stage


class Refused(Exception):
    """Nothing is sent to Ekuaibao; `text` tells the person why."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(reason)
        self.text = text
        self.reason = reason


def guard(deps: DecideDeps, decision: Decision, texts: DecideTexts) -> Checked:
    code = decision.flow_id
    if not deps.active:
        raise Refused(texts.switched_off, "off or not licensed")
    if not SAFE_ID.fullmatch(decision.flow_id) or (
        decision.node_id and not SAFE_ID.fullmatch(decision.node_id)
    ):
        raise Refused(texts.not_approver.format(code=escape(code)), "malformed ids")
    try:
        user = deps.review.slack.users_info(user=decision.user_id).get("user") or {}
    except SlackApiError:
        user = {}
    email = str((user.get("profile") or {}).get("email") or "")
    if user.get("deleted") or user.get("is_bot") or not email:
        raise Refused(texts.not_staff, "no Slack email")
    staff = deps.api.staff_by_email(email)
    if staff is None:
        raise Refused(texts.not_staff, "no active staff with that email")
    stage_call = deps.review.submit(deps.review.api.stages, [decision.flow_id])
    try:
        report = deps.api.report(decision.flow_id)
    except FlowGone:
        stage_call.cancel()
        raise Refused(
            texts.not_approving.format(code=escape(code), state="deleted"), "report gone"
        ) from None
    flow = report.flow
    code = flow.code or flow.flow_id
    stage = stage_call.result().get(flow.flow_id)
    if stage is None or not stage.has(staff.staff_id):
        raise Refused(texts.not_approver.format(code=escape(code)), "not a current approver")
    if flow.state != "approving":
        raise Refused(
            texts.not_approving.format(code=escape(code), state=escape(flow.state)),
            f"report is {flow.state}",
        )
    if decision.node_id and report.node_id and decision.node_id != report.node_id:
        raise Refused(texts.moved.format(code=escape(code)), "report at another node")
    allowed = flow.actions.get(staff.staff_id, ())
    needed = ACTIONS.get(decision.what)
    if (needed and needed not in allowed) or (decision.what == "ask" and not allowed):
        raise Refused(texts.not_allowed.format(code=escape(code)), "not in actions")
    if decision.what == "approve" and "freeflow.select.approver" in allowed:
        raise Refused(texts.not_allowed.format(code=escape(code)), "needs select.approver")
    if decision.reject_to and decision.reject_to not in dict(report.earlier_nodes()):
        raise Refused(texts.moved.format(code=escape(code)), "rejectTo not an earlier node")
    return Checked(staff.staff_id, report, stage)


def audit(decision: Decision, staff_id: str, node: str, outcome: str) -> None:
    audit_log.info(
        "decision flow=%s node=%s staff=%s user=%s what=%s outcome=%s comment_chars=%d",
        decision.flow_id,
        node or "-",
        staff_id or "-",
        decision.user_id,
        decision.what,
        outcome,
        len(decision.comment),
    )


# -- deciding --------------------------------------------------------------------------------


def _key(flow_id: str, node_id: str, staff_id: str) -> str:
    return f"{flow_id}|{node_id or '-'}|{staff_id}"


def _tell(deps: DecideDeps, decision: Decision, text: str) -> None:
    """Privately, in the person's DM with the bot."""
    try:
        deps.review.slack.chat_postMessage(
            channel=decision.user_id, text=text, blocks=[section(text)], unfurl_links=False
        )
    except SlackApiError as exc:
        log.warning("could not tell %s: %s", decision.user_id, exc.response.get("error"))


def _card_text(
    deps: DecideDeps,
    flow: Flow,
    staff_id: str,
    text: str,
    open_button: bool,
    language: str | None = None,
) -> None:
    """The approver's card now says `text` (no decision buttons: a second click or another
    copy can do nothing twice); failures keep Open in Ekuaibao."""
    known = deps.review.cards.get(flow.flow_id, staff_id)
    if known is None:
        return
    blocks: list[Block] = [
        section(f"*{escape(flow.code or flow.flow_id)}* · {escape(flow.title or '—')}\n{text}")
    ]
    if open_button:
        from tasks.slack.texts import review_texts_for

        blocks.append(
            {
                "type": "actions",
                "block_id": f"decided:{int(deps.clock())}",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "review_open",
                        "text": {
                            "type": "plain_text",
                            "text": review_texts_for(language).open_button,
                        },
                        "value": json.dumps({"f": flow.flow_id}, separators=(",", ":")),
                    }
                ],
            }
        )
    _update(deps.review, known, {"text": text, "blocks": blocks})


def decide(decision: Decision, deps: DecideDeps) -> None:
    """One Confirm. Raises Wait to be run again later (same decision id)."""
    texts = decide_texts_for(decision.language)
    try:
        checked = guard(deps, decision, texts)
    except Refused as refused:
        record = None
        if refused.reason in ("not a current approver", "report at another node") or (
            refused.reason.startswith("report is")
        ):
            record = _own_record(deps, decision)
        if record is not None:  # our own call moved it on: confirm, don't refuse
            _recover(deps, decision, record, texts)
            return
        audit(decision, "", decision.node_id, f"refused: {refused.reason}")
        _tell(deps, decision, refused.text)
        return
    flow, staff_id = checked.report.flow, checked.staff_id
    node = checked.report.node_id
    key = _key(flow.flow_id, node, staff_id)
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
            _recover(deps, decision, {**existing, "key": key}, texts)
            return
        what = texts.already if phase in ("done", "unconfirmed") else texts.in_progress
        audit(decision, staff_id, node, f"ignored: already claimed ({phase})")
        _tell(deps, decision, what.format(code=escape(flow.code or flow.flow_id)))
        return
    if existing is not None:
        record = existing
        if record.get("phase") in ("sending", "sent"):
            _recover(deps, decision, {**record, "key": key}, texts)
            return
        if record.get("phase") == "claimed":  # its run died before the call went out
            abandoned(deps, decision, checked, key, texts)
            return
    code = escape(flow.code or flow.flow_id)
    if decision.what == "ask":
        _ask(deps, decision, checked, key, record, texts)
        return
    wait = deps.ledger.slot(deps.tenant, deps.interval_s)
    if wait > 0:
        if record.get("phase") != "queued":
            deps.ledger.put(key, {**record, "phase": "queued"})
            _card_text(
                deps, flow, staff_id, texts.queued.format(code=code, seconds=int(wait) + 1), False
            )
            audit(decision, staff_id, node, f"queued {wait:.0f} s")
        raise Wait(wait)
    busy = texts.approving if decision.what == "approve" else texts.rejecting
    _card_text(deps, flow, staff_id, busy.format(code=code), False)
    action = _action(decision)
    sent_at = deps.clock()
    deps.ledger.put(key, {**record, "phase": "sending", "sent_at": sent_at})
    try:
        batch = deps.api.submit(staff_id, [flow.flow_id], action)
    except BadRequest as exc:  # refused at once: nothing was queued
        reason = str(exc).split(": ", 1)[-1]
        _refused(deps, decision, flow, staff_id, node, key, reason, texts)
        return
    except EkuaibaoError as exc:  # unknown whether it was taken: confirm, never resend
        log.warning("decision on %s: %s; confirming through the report", flow.flow_id, exc)
        _recover(
            deps, decision, {**record, "phase": "sending", "sent_at": sent_at, "key": key}, texts
        )
        return
    deps.ledger.put(key, {**record, "phase": "sent", "sent_at": sent_at})
    audit(decision, staff_id, node, f"sent (total {batch.total}, residue {batch.residue})")
    _confirm(deps, decision, staff_id, node, key, sent_at, texts, poll=True)


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


def _own_record(deps: DecideDeps, decision: Decision) -> dict[str, Any] | None:
    """A claim this decision made before (redelivered after its call went out)."""
    if not decision.node_id:
        return None
    try:
        user = deps.review.slack.users_info(user=decision.user_id).get("user") or {}
        staff = deps.api.staff_by_email(str((user.get("profile") or {}).get("email") or ""))
    except (SlackApiError, EkuaibaoError):
        return None
    if staff is None:
        return None
    key = _key(decision.flow_id, decision.node_id, staff.staff_id)
    record = deps.ledger.get(key)
    if record is None or record.get("phase") not in ("sending", "sent", "done"):
        return None
    return {**record, "key": key, "staff": staff.staff_id}


def _recover(
    deps: DecideDeps, decision: Decision, record: dict[str, Any], texts: DecideTexts
) -> None:
    """A decision whose call may have gone out: confirm it, never send it again."""
    key = str(record["key"])
    staff_id = str(record.get("staff") or key.rsplit("|", 1)[-1])
    node = key.split("|")[1]
    if record.get("phase") == "done":
        if record.get("id") != decision.decision_id:
            _tell(deps, decision, texts.already.format(code=escape(decision.flow_id)))
        return
    sent_at = float(record.get("sent_at") or record.get("at") or deps.clock())
    audit(decision, staff_id, node, "recovering: confirming through the report")
    _confirm(deps, decision, staff_id, node, key, sent_at, texts, poll=False)


def _confirm(
    deps: DecideDeps,
    decision: Decision,
    staff_id: str,
    node: str,
    key: str,
    sent_at: float,
    texts: DecideTexts,
    *,
    poll: bool,
) -> None:
    """Poll the result (within its window), then believe only the report's log."""
    action = ACTIONS.get(decision.what, "")
    since_ms = int((sent_at - 5) * 1000)
    started = deps.clock()
    for pause in POLLS if poll else (0.0,):
        deps.sleep(pause)
        if deps.clock() - sent_at < 60:
            try:
                batch = deps.api.result(staff_id)
            except EkuaibaoError as exc:
                log.info("backlog/data/result: %s", exc)
                batch = None
            if batch is not None and decision.flow_id in batch.errors:
                report = deps.api.report(decision.flow_id)
                if report.decided(staff_id, action, node, since_ms) is None:
                    reason = batch.errors[decision.flow_id]
                    _refused(deps, decision, report.flow, staff_id, node, key, reason, texts)
                    return
            if batch is not None and batch.residue > 0:
                continue
        report = deps.api.report(decision.flow_id)
        entry = report.decided(staff_id, action, node, since_ms)
        if entry is not None:
            _confirmed(deps, decision, report, staff_id, node, key, entry.time_ms, texts)
            return
        if deps.clock() - started > 45:
            break
    if deps.clock() - sent_at < CONFIRM_S:
        raise Wait(5.0)
    flow = deps.api.report(decision.flow_id).flow
    deps.ledger.put(key, {"phase": "unconfirmed", "id": decision.decision_id, "at": sent_at})
    audit(decision, staff_id, node, "unconfirmed")
    _card_text(
        deps,
        flow,
        staff_id,
        texts.unconfirmed.format(code=escape(flow.code or flow.flow_id)),
        True,
        decision.language,
    )


def _confirmed(
    deps: DecideDeps,
    decision: Decision,
    report: Report,
    staff_id: str,
    node: str,
    key: str,
    at_ms: int,
    texts: DecideTexts,
) -> None:
    flow = report.flow
    stages = deps.review.api.stages([flow.flow_id])
    stage = stages.get(flow.flow_id)
    when = slack_date(at_ms // 1000)
    if decision.what == "approve":
        if stage is not None and stage.operators:
            text = texts.approved.format(when=when, stage=escape(stage.name))
        else:
            text = texts.approved_done.format(when=when)
    else:
        where = texts.to_submitter
        if decision.reject_to:
            where = dict(report.earlier_nodes()).get(decision.reject_to, decision.reject_to)
        text = texts.rejected.format(when=when, where=escape(where))
    deps.ledger.put(key, {"phase": "done", "id": decision.decision_id, "at": deps.clock()})
    _card_text(deps, flow, staff_id, text, False)
    deps.review.cards.forget(flow.flow_id, staff_id)
    audit(
        decision,
        staff_id,
        node,
        "confirmed " + ("approved" if decision.what == "approve" else "rejected"),
    )


def _refused(
    deps: DecideDeps,
    decision: Decision,
    flow: Flow,
    staff_id: str,
    node: str,
    key: str,
    reason: str,
    texts: DecideTexts,
) -> None:
    """Ekuaibao's exact words, what to do, and Open in Ekuaibao. The claim is freed: the
    person may fix it in Ekuaibao and try again."""
    deps.ledger.release(key)
    words = texts.reasons.get(reason) or texts.refused_other.format(reason=escape(reason))
    code = escape(flow.code or flow.flow_id)
    _card_text(
        deps, flow, staff_id, texts.refused.format(code=code, reason=words), True, decision.language
    )
    audit(decision, staff_id, node, f"refused by Ekuaibao: {reason[:80]}")


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
        deps.api.comment(flow.flow_id, checked.staff_id, text)
    except BadRequest as exc:
        reason = str(exc).split(": ", 1)[-1]
        deps.ledger.release(key)
        audit(decision, checked.staff_id, checked.report.node_id, f"ask refused: {reason[:80]}")
        _tell(deps, decision, texts.ask_refused.format(code=code, reason=escape(reason)))
        return
    except EkuaibaoError:
        deps.ledger.release(key)
        raise
    deps.ledger.release(key)
    audit(decision, checked.staff_id, checked.report.node_id, "asked")
    note = texts.asked_note.format(who=f"<@{decision.user_id}>", when=slack_date(int(deps.clock())))
    if not rerender(deps.review, flow.flow_id, checked.staff_id, decision.language, note):
        _tell(deps, decision, texts.asked.format(code=code))


def abandoned(
    deps: DecideDeps, decision: Decision, checked: Checked, key: str, texts: DecideTexts
) -> None:
    """Its own claim, never sent: the worker that made it stopped before calling Ekuaibao
    (this is the redelivered task). The claim is freed and the card shows its buttons
    again, saying nothing was sent, so the person decides again when they choose."""
    deps.ledger.release(key)
    flow = checked.report.flow
    audit(decision, checked.staff_id, checked.report.node_id, "not sent: claim freed")
    code = escape(flow.code or flow.flow_id)
    note = texts.not_sent.format(code=code)
    if not rerender(deps.review, flow.flow_id, checked.staff_id, decision.language, note):
        _tell(deps, decision, note)


__all__ = [
    "DecideDeps",
    "Wait",
    "abandoned",
    "buttons",
    "decide",
    "guard",
    "loading_view",
    "with_buttons",
]
