"""Who may look up which invoice, and where invoice data may be posted.

Three modes (ACCESS_MODE):

- ``open``: anyone in the workspace may look up any invoice.
- ``allowlist``: allowlisted Slack users, members of allowlisted user groups, anyone in
  an allowlisted channel, and the finance users.
- ``ekuaibao``: the Slack user's email (``users:read.email``) is mapped to an Ekuaibao
  staff member (getStaffIds, type MAIL), who must be the submitter of the report an
  invoice is on, or an approver on it; finance users see everything.

Independently, invoice data never goes into a conversation shared with another
organisation (Slack Connect channels and DMs) unless ALLOW_SHARED_CHANNELS is set, and
in ekuaibao mode only full members of this organisation count (tasks.slack.identity).

The checks return a `Decision`; its `reason` is for the audit log only and is never shown
to the user, since it can say whether an invoice exists. All I/O goes through the Slack
`WebClient` and the `EkuaibaoClient`, so tests inject fakes. Emails are personal data:
they are never logged (user ids are).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from tasks.ekuaibao.client import EkuaibaoClient
from tasks.ekuaibao.flows import FlowParticipants
from tasks.ekuaibao.masters import InvoiceMaster
from tasks.lookup.conversations import UNCHECKED, Conversation, conversation_of, may_post
from tasks.lookup.directory import (
    SLACK_ERROR_TTL_S,
    Directory,
    TtlCache,
    as_dict,
    participant,
)
from tasks.lookup.policy import OPEN_MODE_WARNING, AccessPolicy, Decision, startup_warnings
from tasks.settings import AccessMode
from tasks.slack.errors import classify
from tasks.slack.identity import SlackIdentity

log = logging.getLogger(__name__)

#: A cached report that does not list the user is fetched again once it is this old:
#: approvers change as a report moves on, and a new approver should not wait 10 minutes.
RECHECK_AFTER_S = 60.0


class AccessChecker:
    """Applies an `AccessPolicy`, with the Slack and Ekuaibao look-ups it needs, cached.

    Thread-safe; meant to live as long as the process (one per worker process).
    """

    def __init__(
        self,
        policy: AccessPolicy,
        slack: WebClient | None,
        ekuaibao: EkuaibaoClient,
        *,
        clock: Callable[[], float] = time.monotonic,
        cache_ttl_s: float = 600,
        identity: SlackIdentity | None = None,
    ) -> None:
        self.policy = policy
        self._slack = slack
        self._ttl = cache_ttl_s
        self._directory = Directory(slack, ekuaibao, clock, cache_ttl_s, identity)
        self._conversations: TtlCache[str, Conversation | None] = TtlCache(clock)

    # -- the gate --------------------------------------------------------------------------

    def may_ask(self, user_id: str, channel_id: str) -> Decision:
        """May this user look anything up here at all? Checked before any look-up.

        Never raises on Slack errors (they deny, with a reason). In ekuaibao mode an
        Ekuaibao failure while mapping the email to a staff member does propagate
        (`EkuaibaoError`): that is an outage, not a "no".
        """
        policy = self.policy
        if policy.mode == "open":
            return Decision(True, "open")
        if user_id in policy.finance:
            return Decision(True, "finance")
        if policy.mode == "ekuaibao":
            staff = self._directory.staff_of(user_id)
            return Decision(staff.staff_id is not None, staff.reason)
        if user_id in policy.users:
            return Decision(True, "allowlisted user")
        if channel_id and channel_id in policy.channels:
            return Decision(True, "allowlisted channel")
        unchecked = False
        for group in sorted(policy.usergroups):
            members = self._directory.usergroup_members(group)
            if members is None:
                unchecked = True
            elif user_id in members:
                return Decision(True, f"usergroup {group}")
        if unchecked:
            return Decision(False, "could not check usergroup membership")
        return Decision(False, "not allowlisted")

    # -- the per-invoice filter -------------------------------------------------------------

    def may_see(
        self,
        user_id: str,
        masters: Sequence[InvoiceMaster],
        *,
        requested_ids: Iterable[str] = (),
    ) -> dict[str, Decision]:
        """A decision per invoice id (each master's, plus any `requested_ids` without one).

        open/allowlist: everything is allowed (the gate already decided). ekuaibao:
        finance sees everything; anyone else only invoices on a report they submitted
        or approve(d). A requested id with no master is denied as "invoice not found" in
        ekuaibao mode, so a caller that words every denial the same way cannot leak
        which invoices exist. Raises `EkuaibaoError` when Ekuaibao fails mid-check (the
        caller retries as for any Ekuaibao failure).
        """
        by_id = {m.invoice_id: m for m in masters}
        missing = [i for i in dict.fromkeys(requested_ids) if i not in by_id]
        policy = self.policy
        if policy.mode != "ekuaibao":
            reason = "open" if policy.mode == "open" else "allowlist gate"
            found = dict.fromkeys(by_id, Decision(True, reason))
            return found | dict.fromkeys(missing, Decision(True, "invoice not found"))
        if user_id in policy.finance:
            found = dict.fromkeys(by_id, Decision(True, "finance"))
            return found | dict.fromkeys(missing, Decision(True, "invoice not found"))

        decisions = dict.fromkeys(missing, Decision(False, "invoice not found"))
        staff = self._directory.staff_of(user_id)
        if staff.staff_id is None:
            return dict.fromkeys(by_id, Decision(False, staff.reason)) | decisions
        for invoice_id, master in by_id.items():
            decisions[invoice_id] = self._on_report(staff.staff_id, master)
        return decisions

    def _on_report(self, staff_id: str, master: InvoiceMaster) -> Decision:
        report = master.report
        if report is None:
            return Decision(False, "invoice not on a report")
        if report.submitter_id is not None and report.submitter_id == staff_id:
            return Decision(True, "submitter")  # the master already says so: no look-up
        if report.flow_id is None:
            return Decision(False, "not on the report")
        flow, age = self._directory.flow(report.flow_id)
        decision = participant(flow, staff_id)
        if not decision.allowed and flow.participants is not None and age >= RECHECK_AFTER_S:
            flow, _ = self._directory.flow(report.flow_id, refresh=True)
            decision = participant(flow, staff_id)
        return decision

    # -- where replies may go ----------------------------------------------------------------

    def may_post_in(self, channel_id: str, user_id: str = "") -> Decision:
        """May invoice data be posted in this conversation for everyone there to see? Only
        after conversations.info: no for anything shared with another organisation unless
        ALLOW_SHARED_CHANNELS (tasks.lookup.conversations).

        Never raises: a conversation that cannot be checked is refused.
        """
        if self.policy.allow_shared_channels:
            return Decision(True, "shared channels allowed")
        if not channel_id:
            return UNCHECKED
        return may_post(self._conversation(channel_id), user_id)

    def _conversation(self, channel_id: str) -> Conversation | None:
        cached = self._conversations.get(channel_id)
        if cached is not None:
            return cached[0]
        if self._slack is None:
            return None
        try:
            response = self._slack.conversations_info(channel=channel_id)
            found: Conversation | None = conversation_of(as_dict(response.get("channel")))
        except (SlackClientError, OSError) as exc:
            log.warning(
                "could not check who can see conversation %s (%s); not posting there",
                channel_id,
                classify(exc).code,
            )
            self._conversations.put(channel_id, None, SLACK_ERROR_TTL_S)
            return None
        self._conversations.put(channel_id, found, self._ttl)
        return found

    def startup_warnings(self) -> list[str]:
        """What an operator should know about this policy, for the log at start-up."""
        return startup_warnings(self.policy, can_read_slack=self._slack is not None)


__all__ = [
    "OPEN_MODE_WARNING",
    "AccessChecker",
    "AccessMode",
    "AccessPolicy",
    "Decision",
    "FlowParticipants",
]
