"""Whether review cards can decide: APPROVALS_IN_SLACK, and 单据审批 on the tenant."""

from __future__ import annotations

from bot.doctor.checks import Check, ok, warn
from tasks.ekuaibao.approvals import ApprovalsApi
from tasks.ekuaibao.client import EkuaibaoClient
from tasks.ekuaibao.errors import EkuaibaoError
from tasks.settings import Settings

APPROVALS = "Deciding in Slack"


def approvals_check(settings: Settings, client: EkuaibaoClient) -> Check:
    if not settings.approvals_in_slack:
        return ok(
            APPROVALS,
            "off: review cards show no Approve/Reject buttons (set APPROVALS_IN_SLACK=true "
            "to let approvers decide in Slack)",
        )
    if settings.decision_key is None:
        return warn(
            APPROVALS,
            "no key to sign decisions: workers refuse every one (set DECISION_SIGNING_KEY, "
            "the same in the bot and every worker)",
        )
    try:
        found = ApprovalsApi(client).license()
    except EkuaibaoError as exc:
        return warn(APPROVALS, f"could not read the tenant's charge powers ({exc}); buttons hidden")
    if not found.licensed:
        return warn(
            APPROVALS,
            f"buttons hidden: {found.why} — renew 单据审批 in 合思+, or set "
            "APPROVALS_IN_SLACK=false",
        )
    return ok(APPROVALS, f"on: {found.why}")
