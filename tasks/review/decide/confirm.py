"""After the call: a decision is confirmed only by the report's own log, never sent twice."""

from __future__ import annotations

import logging
from typing import Any

from tasks.contracts import Decision
from tasks.ekuaibao.approval_models import Flow
from tasks.ekuaibao.decision_models import Report
from tasks.ekuaibao.errors import EkuaibaoError
from tasks.review.decide.deps import ACTIONS, CONFIRM_S, POLLS, DecideDeps, Wait
from tasks.review.decide.guard import audit
from tasks.review.decide.notes import card_text, tell_decider
from tasks.shared.blocks import escape, slack_date
from tasks.shared.decide_texts import DecideTexts

log = logging.getLogger(__name__)


def decision_key(flow_id: str, node_id: str, staff_id: str) -> str:
    """One claim per (report, node, approver); a decision without its node has none."""
    if not node_id:
        raise ValueError("a decision claim needs the node that waits")
    return f"{flow_id}|{node_id}|{staff_id}"


def own_record(deps: DecideDeps, decision: Decision, staff_id: str) -> dict[str, Any] | None:
    """A claim this decision made before (redelivered after its call went out), for the
    staff member the guard verified; its own unsent claim is freed instead."""
    if not decision.node_id or not staff_id:
        return None
    key = decision_key(decision.flow_id, decision.node_id, staff_id)
    record = deps.ledger.get(key)
    if record is None:
        return None
    if record.get("phase") in ("claimed", "queued") and record.get("id") == decision.decision_id:
        # Its own claim, never sent (it waited for the tenant's slot): the report moved on
        # or changed meanwhile, so the claim is freed for a decision on the report as it is.
        deps.ledger.release(key)
        return None
    if record.get("phase") not in ("sending", "sent", "done"):
        return None
    return {**record, "key": key, "staff": staff_id}


def recover_decision(
    deps: DecideDeps, decision: Decision, record: dict[str, Any], texts: DecideTexts
) -> None:
    """A decision whose call may have gone out: confirm it, never send it again."""
    key = str(record["key"])
    staff_id = str(record.get("staff") or key.rsplit("|", 1)[-1])
    node = key.split("|")[1]
    if record.get("phase") == "done":
        if record.get("id") != decision.decision_id:
            tell_decider(deps, decision, texts.already.format(code=escape(decision.flow_id)))
        return
    sent_at = float(record.get("sent_at") or record.get("at") or deps.clock())
    audit(decision, staff_id, node, "recovering: confirming through the report")
    confirm_decision(deps, decision, staff_id, node, key, sent_at, texts, poll=False)


def confirm_decision(
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
                batch = deps.review.api.result(staff_id)
            except EkuaibaoError as exc:
                log.info("backlog/data/result: %s", exc)
                batch = None
            if batch is not None and decision.flow_id in batch.errors:
                report = deps.review.api.report(decision.flow_id)
                if report.decided(staff_id, action, node, since_ms) is None:
                    reason = batch.errors[decision.flow_id]
                    refused_reply(deps, decision, report.flow, staff_id, node, key, reason, texts)
                    return
            if batch is not None and batch.residue > 0:
                continue
        report = deps.review.api.report(decision.flow_id)
        entry = report.decided(staff_id, action, node, since_ms)
        if entry is not None:
            _confirmed(deps, decision, report, staff_id, node, key, entry.time_ms, texts)
            return
        if deps.clock() - started > 45:
            break
    if deps.clock() - sent_at < CONFIRM_S:
        raise Wait(5.0)
    flow = deps.review.api.flow(decision.flow_id)
    deps.ledger.put(key, {"phase": "unconfirmed", "id": decision.decision_id, "at": sent_at})
    audit(decision, staff_id, node, "unconfirmed")
    card_text(
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
    card_text(deps, flow, staff_id, text, False)
    deps.review.cards.forget(flow.flow_id, staff_id)
    audit(
        decision,
        staff_id,
        node,
        "confirmed " + ("approved" if decision.what == "approve" else "rejected"),
    )


def refused_reply(
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
    card_text(
        deps, flow, staff_id, texts.refused.format(code=code, reason=words), True, decision.language
    )
    audit(decision, staff_id, node, f"refused by Ekuaibao: {reason[:80]}")
