"""The guard: everything read again right before acting; any mismatch sends nothing.

Also the decision's audit line: who decided what, and how it ended (never the comment).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tasks.contracts import SAFE_ID, Decision
from tasks.ekuaibao.approval_models import FlowGone, Stage
from tasks.ekuaibao.decision_models import Report
from tasks.review.acting import acting_staff
from tasks.review.cards.messages import audit_log
from tasks.review.decide.deps import ACTIONS, DecideDeps
from tasks.shared.blocks import escape
from tasks.shared.decide_texts import DecideTexts
from tasks.slack.identity import Refusal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Checked:
    staff_id: str
    report: Report
    stage: Stage
    #: The node that waits now (never empty): what the decision is for, and its claim.
    node_id: str


class Refused(Exception):
    """Nothing is sent to Ekuaibao; `text` tells the person why. `staff_id`, when known,
    is whose card may be drawn again."""

    def __init__(self, text: str, reason: str, staff_id: str = "") -> None:
        super().__init__(reason)
        self.text = text
        self.reason = reason
        self.staff_id = staff_id


def guard(deps: DecideDeps, decision: Decision, texts: DecideTexts) -> Checked:
    code = decision.flow_id
    if not decision.signed_by(deps.key):  # first: an unsigned task was not the bot's
        why = "no decision key" if not deps.key else "unsigned" if not decision.signature else ""
        raise Refused(texts.not_verified.format(code=escape(code)), why or "bad signature")
    if not deps.licence.active:
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
    try:
        return _report_checks(deps, decision, texts, staff.staff_id)
    except Refused as refused:
        refused.staff_id = staff.staff_id  # verified: whose claim and card these are
        raise


def _report_checks(
    deps: DecideDeps, decision: Decision, texts: DecideTexts, staff_id: str
) -> Checked:
    """The report read now: this approver, at the node that waits now, on what they saw."""
    code = decision.flow_id
    stage_call = deps.review.submit(deps.review.api.stages, [decision.flow_id])
    try:
        report = deps.review.api.report(decision.flow_id)
    except FlowGone:
        stage_call.cancel()
        raise Refused(
            texts.not_approving.format(code=escape(code), state="deleted"), "report gone"
        ) from None
    flow = report.flow
    code = flow.code or flow.flow_id
    stage = stage_call.result().get(flow.flow_id)
    if stage is None or not stage.has(staff_id):
        raise Refused(texts.not_approver.format(code=escape(code)), "not a current approver")
    if flow.state != "approving":
        raise Refused(
            texts.not_approving.format(code=escape(code), state=escape(flow.state)),
            f"report is {flow.state}",
        )
    node = report.waiting_at(stage)
    if not node:
        raise Refused(texts.node_unknown.format(code=escape(code)), "node unknown")
    if decision.node_id != node:
        raise Refused(texts.moved.format(code=escape(code)), "report at another node")
    if decision.step == "decide" and decision.version != flow.version:
        text = texts.changed.format(code=escape(code))
        raise Refused(text, "report changed")
    allowed = flow.actions.get(staff_id, ())
    needed = ACTIONS.get(decision.what)
    if (needed and needed not in allowed) or (decision.what == "ask" and not allowed):
        raise Refused(texts.not_allowed.format(code=escape(code)), "not in actions")
    if decision.what == "approve" and "freeflow.select.approver" in allowed:
        raise Refused(texts.not_allowed.format(code=escape(code)), "needs select.approver")
    if decision.reject_to and decision.reject_to not in dict(report.earlier_nodes()):
        raise Refused(texts.moved.format(code=escape(code)), "rejectTo not an earlier node")
    return Checked(staff_id, report, stage, node)


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
