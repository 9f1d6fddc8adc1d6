"""Who may look up which invoice, and where invoice data may be posted.

Three modes (ACCESS_MODE):

- ``open``: anyone in the workspace may look up any invoice.
- ``allowlist``: allowlisted Slack users, members of allowlisted user groups, anyone in
  an allowlisted channel, and the finance users.
- ``ekuaibao``: the Slack user's email (``users:read.email``) is mapped to an Ekuaibao
  staff member (getStaffIds, type MAIL), who must be the submitter of the report an
  invoice is on, or an approver on it; finance users see everything.

Independently, invoice data never goes into a Slack Connect channel (shared with another
organisation) unless ALLOW_SHARED_CHANNELS is set.

The checks return a `Decision`; its `reason` is for the audit log only and is never shown
to the user, since it can say whether an invoice exists. All I/O goes through the Slack
`WebClient` and the `EkuaibaoClient`, so tests inject fakes. Emails are personal data:
they are never logged (user ids are).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from tasks.ekuaibao.client import EkuaibaoClient
from tasks.ekuaibao.errors import BadRequest
from tasks.ekuaibao.flows import FlowParticipants
from tasks.ekuaibao.masters import InvoiceMaster
from tasks.settings import AccessMode, Settings

log = logging.getLogger(__name__)
K = TypeVar("K")
V = TypeVar("V")

#: How long a failed Slack look-up is remembered, so an outage doesn't cost a call per ask.
SLACK_ERROR_TTL_S = 30.0
#: A cached report that does not list the user is fetched again once it is this old:
#: approvers change as a report moves on, and a new approver should not wait 10 minutes.
RECHECK_AFTER_S = 60.0

OPEN_MODE_WARNING = "ACCESS_MODE=open: anyone in the workspace can look up any invoice"


@dataclass(frozen=True)
class Decision:
    """An access answer; `reason` goes to the audit log only, never to the user."""

    allowed: bool
    reason: str


@dataclass(frozen=True)
class AccessPolicy:
    """The access settings, resolved (pure data)."""

    mode: AccessMode
    users: frozenset[str]
    usergroups: frozenset[str]
    channels: frozenset[str]
    finance: frozenset[str]
    allow_shared_channels: bool
    #: False when ACCESS_MODE was not set and `mode` is its default.
    mode_explicit: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> AccessPolicy:
        return cls(
            mode=settings.effective_access_mode,
            users=settings.allowed_slack_users,
            usergroups=settings.allowed_slack_usergroups,
            channels=settings.allowed_slack_channels,
            finance=settings.finance_slack_users,
            allow_shared_channels=settings.allow_shared_channels,
            mode_explicit=settings.access_mode is not None,
        )


class _TtlCache(Generic[K, V]):
    """A small thread-safe cache with per-entry expiry; I/O happens outside the lock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._entries: dict[K, tuple[V, float, float]] = {}  # value, stored at, expires at
        self._lock = threading.Lock()

    def get(self, key: K) -> tuple[V, float] | None:
        """The value and its age in seconds, or None when absent or expired."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if now >= entry[2]:
                del self._entries[key]
                return None
        return entry[0], now - entry[1]

    def put(self, key: K, value: V, ttl_s: float) -> None:
        now = self._clock()
        with self._lock:
            self._entries[key] = (value, now, now + ttl_s)
            if len(self._entries) > 10_000:  # a bound, not an LRU: drop the expired ones
                self._entries = {k: e for k, e in self._entries.items() if e[2] > now}


@dataclass(frozen=True)
class _Staff:
    """A Slack user's Ekuaibao identity, or why there is none."""

    staff_id: str | None
    reason: str


@dataclass(frozen=True)
class _Flow:
    """A report's participants, or why they could not be read (a denial)."""

    participants: FlowParticipants | None
    reason: str


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
    ) -> None:
        self.policy = policy
        self._slack = slack
        self._ekuaibao = ekuaibao
        self._ttl = cache_ttl_s
        self._clock = clock
        self._members: _TtlCache[str, frozenset[str] | None] = _TtlCache(clock)
        self._staff: _TtlCache[str, _Staff] = _TtlCache(clock)
        self._flows: _TtlCache[str, _Flow] = _TtlCache(clock)
        self._channels: _TtlCache[str, Decision] = _TtlCache(clock)

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
            staff = self._staff_of(user_id)
            return Decision(staff.staff_id is not None, staff.reason)
        if user_id in policy.users:
            return Decision(True, "allowlisted user")
        if channel_id and channel_id in policy.channels:
            return Decision(True, "allowlisted channel")
        unchecked = False
        for group in sorted(policy.usergroups):
            members = self._usergroup_members(group)
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
        staff = self._staff_of(user_id)
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
        flow, age = self._flow(report.flow_id)
        decision = _participant(flow, staff_id)
        if not decision.allowed and flow.participants is not None and age >= RECHECK_AFTER_S:
            flow, _ = self._flow(report.flow_id, refresh=True)
            decision = _participant(flow, staff_id)
        return decision

    # -- where replies may go ----------------------------------------------------------------

    def may_post_in(self, channel_id: str) -> Decision:
        """May invoice data be posted in this channel? No for Slack Connect channels
        (`is_ext_shared`, or a pending share) unless ALLOW_SHARED_CHANNELS; DMs always.

        Never raises: a channel that cannot be checked is refused.
        """
        if channel_id.startswith("D"):
            return Decision(True, "direct message")
        if self.policy.allow_shared_channels:
            return Decision(True, "shared channels allowed")
        if not channel_id:
            return Decision(False, "could not check the channel")
        cached = self._channels.get(channel_id)
        if cached is not None:
            return cached[0]
        if self._slack is None:
            return Decision(False, "could not check the channel")
        try:
            response = self._slack.conversations_info(channel=channel_id)
            channel = _dict(response.get("channel"))
        except (SlackClientError, OSError) as exc:
            log.warning(
                "could not check whether channel %s is shared (%s); not posting there",
                channel_id,
                _slack_error(exc),
            )
            decision = Decision(False, "could not check the channel")
            self._channels.put(channel_id, decision, SLACK_ERROR_TTL_S)
            return decision
        if channel.get("is_ext_shared") is True or channel.get("is_pending_ext_shared") is True:
            decision = Decision(False, "shared channel")
        else:
            decision = Decision(True, "internal channel")
        self._channels.put(channel_id, decision, self._ttl)
        return decision

    def startup_warnings(self) -> list[str]:
        """What an operator should know about this policy, for the log at start-up."""
        policy = self.policy
        warnings: list[str] = []
        listed = policy.users or policy.usergroups or policy.channels
        if policy.mode == "open":
            warnings.append(OPEN_MODE_WARNING)
            if not policy.mode_explicit:
                warnings.append(
                    "ACCESS_MODE is not set and no allowlist is: defaulting to open; set "
                    "ACCESS_MODE=allowlist (with ALLOWED_SLACK_USERS, "
                    "ALLOWED_SLACK_USERGROUPS, ALLOWED_SLACK_CHANNELS) or ACCESS_MODE=ekuaibao"
                )
        elif policy.mode == "allowlist":
            if not policy.mode_explicit:
                warnings.append("ACCESS_MODE is not set: using allowlist, as an allowlist is set")
            if not listed and not policy.finance:
                warnings.append(
                    "ACCESS_MODE=allowlist but ALLOWED_SLACK_USERS, ALLOWED_SLACK_USERGROUPS, "
                    "ALLOWED_SLACK_CHANNELS and FINANCE_SLACK_USERS are all empty: "
                    "nobody can look up invoices"
                )
            if policy.usergroups and self._slack is None:
                warnings.append(
                    "ALLOWED_SLACK_USERGROUPS is set but there is no SLACK_BOT_TOKEN to read "
                    "the groups: their members are refused"
                )
        else:
            if self._slack is None:
                warnings.append(
                    "ACCESS_MODE=ekuaibao needs SLACK_BOT_TOKEN (scope users:read.email) to "
                    "read emails: only FINANCE_SLACK_USERS can look up invoices"
                )
            if listed:
                warnings.append(
                    "ALLOWED_SLACK_USERS, ALLOWED_SLACK_USERGROUPS and ALLOWED_SLACK_CHANNELS "
                    "are ignored with ACCESS_MODE=ekuaibao; only FINANCE_SLACK_USERS skip "
                    "the report check"
                )
        if policy.allow_shared_channels:
            warnings.append(
                "ALLOW_SHARED_CHANNELS=true: invoice data may be posted into Slack Connect "
                "channels shared with other organisations"
            )
        elif self._slack is None:
            warnings.append(
                "no SLACK_BOT_TOKEN to check channels for Slack Connect: invoice data is "
                "only posted in DMs"
            )
        return warnings

    # -- look-ups, cached ---------------------------------------------------------------------

    def _usergroup_members(self, group: str) -> frozenset[str] | None:
        """Members of one user group; None when Slack could not say (cached briefly)."""
        cached = self._members.get(group)
        if cached is not None:
            return cached[0]
        if self._slack is None:
            return None
        try:
            response = self._slack.usergroups_users_list(usergroup=group)
            users = response.get("users")
            members = frozenset(u for u in users if isinstance(u, str)) if users else frozenset()
        except (SlackClientError, OSError) as exc:
            log.warning("could not list user group %s (%s)", group, _slack_error(exc))
            self._members.put(group, None, SLACK_ERROR_TTL_S)
            return None
        self._members.put(group, members, self._ttl)
        return members

    def _staff_of(self, user_id: str) -> _Staff:
        """The user's Ekuaibao staff id via their Slack email, or the reason there is none."""
        cached = self._staff.get(user_id)
        if cached is not None:
            return cached[0]
        if self._slack is None:
            return _Staff(None, "no Slack client to read the email")
        try:
            response = self._slack.users_info(user=user_id)
            user = _dict(response.get("user"))
        except (SlackClientError, OSError) as exc:
            log.warning("could not read the Slack profile of %s (%s)", user_id, _slack_error(exc))
            staff = _Staff(None, "could not read the Slack profile")
            self._staff.put(user_id, staff, SLACK_ERROR_TTL_S)
            return staff
        email = _dict(user.get("profile")).get("email")
        if user.get("deleted") is True or user.get("is_bot") is True:
            staff = _Staff(None, "not an active Slack user")
        elif not isinstance(email, str) or "@" not in email:
            staff = _Staff(None, "no email on the Slack profile")
        else:
            # EkuaibaoError propagates: an outage must not be remembered as a "no".
            found = self._ekuaibao.staff_ids_by_email([email])
            staff_id = found.get(email.strip().lower())
            if staff_id is None:
                staff = _Staff(None, "no Ekuaibao staff for this email")
            else:
                staff = _Staff(staff_id, "ekuaibao staff")
        log.debug("Slack user %s -> Ekuaibao staff %s (%s)", user_id, staff.staff_id, staff.reason)
        self._staff.put(user_id, staff, self._ttl)
        return staff

    def _flow(self, flow_id: str, *, refresh: bool = False) -> tuple[_Flow, float]:
        """A report's participants and the age of that answer; a missing report is a
        cached denial, any other Ekuaibao failure propagates."""
        if not refresh:
            cached = self._flows.get(flow_id)
            if cached is not None:
                return cached
        try:
            flow = _Flow(self._ekuaibao.flow_participants(flow_id), "")
        except BadRequest as exc:
            reason = "report not found" if exc.status == 412 else "report could not be read"
            log.info("report %s: %s (%s)", flow_id, reason, exc)
            flow = _Flow(None, reason)
        except ValueError:
            flow = _Flow(None, "report could not be read")
        self._flows.put(flow_id, flow, self._ttl)
        return flow, 0.0


def _participant(flow: _Flow, staff_id: str) -> Decision:
    participants = flow.participants
    if participants is None:
        return Decision(False, flow.reason)
    if participants.is_submitter(staff_id):
        return Decision(True, "submitter")
    if participants.is_approver(staff_id):
        return Decision(True, "approver")
    return Decision(False, "not on the report")


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _slack_error(exc: BaseException) -> str:
    """`SlackApiError`'s error code (e.g. `user_not_found`), else the exception's type."""
    response = getattr(exc, "response", None)
    try:
        error = response.get("error") if response is not None else None
    except (AttributeError, TypeError):
        error = None
    return str(error) if error else type(exc).__name__


__all__ = [
    "OPEN_MODE_WARNING",
    "AccessChecker",
    "AccessMode",
    "AccessPolicy",
    "Decision",
    "FlowParticipants",
]
