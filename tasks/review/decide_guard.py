"""The guard: everything read again right before acting; any mismatch sends nothing.

Also the decision's audit line: who decided what, and how it ended (never the comment).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tasks.contracts import Decision
from tasks.ekuaibao.decide import Report
from tasks.ekuaibao.review import SAFE_ID
from tasks.ekuaibao.review_models import FlowGone, Stage
from tasks.review.acting import acting_staff
from tasks.review.decide_deps import ACTIONS, DecideDeps
from tasks.review.messages import audit_log
from tasks.slack.blocks import escape
from tasks.slack.decide_texts import DecideTexts
from tasks.slack.identity import Refusal

log = logging.getLogger(__name__)


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
    staff = acting_staff(deps.review, decision.user_id, "decide")
    if isinstance(staff, Refusal):
        raise Refused(texts.not_member, staff.reason)
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
