"""The use case's gate: may this person ask here, and which invoices may they see.

The decisions come from tasks/lookup/access.py; this module turns them into a refusal
or a filtered result.
"""

from __future__ import annotations

from tasks.contracts import LookupRequest
from tasks.lookup.conversations import UNCHECKED
from tasks.lookup.delivery import audit, deliver
from tasks.lookup.deps import Deps
from tasks.lookup.fetching import ReportNotFound
from tasks.shared import acks
from tasks.shared.texts import Texts
from tasks.slack.identity import REASONS
from tasks.summary import LookupResult


def refusal(request: LookupRequest, deps: Deps, texts: Texts) -> str | None:
    """The gate: may this person ask, and may finance data be posted where they asked?"""
    if deps.access is None:
        return None
    gate = deps.access.may_ask(request.user_id, request.channel_id)
    if not gate.allowed:
        text = texts.not_member if gate.reason in REASONS else texts.not_allowed
        _refuse(deps, request, text, f"denied: {gate.reason}")
        return gate.reason
    if request.channel_id:
        where = deps.access.may_post_in(request.channel_id, request.user_id)
        unverifiable = where == UNCHECKED
        # A private answer where the bot cannot look (say, a private channel it is not in)
        # is still fine; a post everyone in the conversation sees is not.
        if not where.allowed and not (unverifiable and request.mode != "share"):
            text = texts.share_unverified if unverifiable else texts.shared_channel
            _refuse(deps, request, text, f"denied: {where.reason}")
            return where.reason
    return None


def _refuse(deps: Deps, request: LookupRequest, text: str, access: str) -> None:
    delivered = deliver(deps, request, [acks.simple(text)], final=True, private=True)
    deps.replier.react(request, remove="eyes", add="x")
    audit(request, "refused" + ("" if delivered else " (reply not delivered)"), access=access)


def only_what_they_may_see(
    request: LookupRequest, deps: Deps, result: LookupResult
) -> LookupResult:
    """ekuaibao mode: invoices of reports the person neither submitted nor approves are
    listed as "not found, or not yours", exactly like ids Ekuaibao does not know."""
    if deps.access is None or deps.access.policy.mode != "ekuaibao":
        return result
    masters = [inv.master for inv in result.invoices if inv.master is not None]
    decisions = deps.access.may_see(request.user_id, masters, requested_ids=result.requested)
    allowed = tuple(
        inv
        for inv in result.invoices
        if decisions.get(inv.invoice_id) is not None and decisions[inv.invoice_id].allowed
    )
    shown = {inv.invoice_id for inv in allowed}
    if result.report is not None:
        if not allowed:  # neither its invoices nor its header: as if there were no report
            raise ReportNotFound(request.report)
        hidden: tuple[str, ...] = ()  # never list ids from inside a report they can't see
    else:
        hidden = tuple(i for i in result.requested if i not in shown)
    return LookupResult(
        result.requested, allowed, hidden, result.fetched_at, result.report, hides_denials=True
    )
