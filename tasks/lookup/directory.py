"""Who someone is, as the access check needs it: Slack user groups, the Ekuaibao staff
member behind a Slack email, a report's participants. Each answer is cached.

Emails are personal data: they are never logged (user ids are).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from tasks.ekuaibao.client import EkuaibaoClient
from tasks.ekuaibao.errors import BadRequest
from tasks.ekuaibao.flows import FlowParticipants
from tasks.lookup.policy import Decision
from tasks.slack.errors import classify
from tasks.slack.identity import NO_HOME, UNREADABLE, Refusal, SlackIdentity

log = logging.getLogger(__name__)
K = TypeVar("K")
V = TypeVar("V")

#: How long a failed Slack look-up is remembered, so an outage doesn't cost a call per ask.
SLACK_ERROR_TTL_S = 30.0


class TtlCache(Generic[K, V]):
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
class Staff:
    """A Slack user's Ekuaibao identity, or why there is none."""

    staff_id: str | None
    reason: str


@dataclass(frozen=True)
class Flow:
    """A report's participants, or why they could not be read (a denial)."""

    participants: FlowParticipants | None
    reason: str


class Directory:
    """The Slack and Ekuaibao look-ups behind access decisions, cached. Thread-safe."""

    def __init__(
        self,
        slack: WebClient | None,
        ekuaibao: EkuaibaoClient,
        clock: Callable[[], float],
        cache_ttl_s: float,
        identity: SlackIdentity | None = None,
    ) -> None:
        self.slack = slack
        self.identity = identity or SlackIdentity(slack)
        self._ekuaibao = ekuaibao
        self._ttl = cache_ttl_s
        self._members: TtlCache[str, frozenset[str] | None] = TtlCache(clock)
        self._staff: TtlCache[str, Staff] = TtlCache(clock)
        self._flows: TtlCache[str, Flow] = TtlCache(clock)

    def usergroup_members(self, group: str) -> frozenset[str] | None:
        """Members of one user group; None when Slack could not say (cached briefly)."""
        cached = self._members.get(group)
        if cached is not None:
            return cached[0]
        if self.slack is None:
            return None
        try:
            response = self.slack.usergroups_users_list(usergroup=group)
            users = response.get("users")
            members = frozenset(u for u in users if isinstance(u, str)) if users else frozenset()
        except (SlackClientError, OSError) as exc:
            log.warning("could not list user group %s (%s)", group, classify(exc).code)
            self._members.put(group, None, SLACK_ERROR_TTL_S)
            return None
        self._members.put(group, members, self._ttl)
        return members

    def staff_of(self, user_id: str) -> Staff:
        """The user's Ekuaibao staff id via their verified Slack email (a full member of
        this organisation: tasks.slack.identity), or the reason there is none."""
        cached = self._staff.get(user_id)
        if cached is not None:
            return cached[0]
        if self.slack is None:
            return Staff(None, "no Slack client to read the email")
        who = self.identity.verify(user_id, "look up invoices")
        if isinstance(who, Refusal):
            staff = Staff(None, who.reason)
            brief = who.reason in (UNREADABLE, NO_HOME)  # Slack failed: ask again soon
            self._staff.put(user_id, staff, SLACK_ERROR_TTL_S if brief else self._ttl)
            return staff
        # EkuaibaoError propagates: an outage must not be remembered as a "no".
        found = self._ekuaibao.staff_ids_by_email([who.email])
        staff_id = found.get(who.email.lower())
        if staff_id is None:
            staff = Staff(None, "no Ekuaibao staff for this email")
        else:
            staff = Staff(staff_id, "ekuaibao staff")
        log.debug("Slack user %s -> Ekuaibao staff %s (%s)", user_id, staff.staff_id, staff.reason)
        self._staff.put(user_id, staff, self._ttl)
        return staff

    def flow(self, flow_id: str, *, refresh: bool = False) -> tuple[Flow, float]:
        """A report's participants and the age of that answer; a missing report is a
        cached denial, any other Ekuaibao failure propagates."""
        if not refresh:
            cached = self._flows.get(flow_id)
            if cached is not None:
                return cached
        try:
            flow = Flow(self._ekuaibao.flow_participants(flow_id), "")
        except BadRequest as exc:
            reason = "report not found" if exc.status == 412 else "report could not be read"
            log.info("report %s: %s (%s)", flow_id, reason, exc)
            flow = Flow(None, reason)
        except ValueError:
            flow = Flow(None, "report could not be read")
        self._flows.put(flow_id, flow, self._ttl)
        return flow, 0.0


def participant(flow: Flow, staff_id: str) -> Decision:
    participants = flow.participants
    if participants is None:
        return Decision(False, flow.reason)
    if participants.is_submitter(staff_id):
        return Decision(True, "submitter")
    if participants.is_approver(staff_id):
        return Decision(True, "approver")
    return Decision(False, "not on the report")


def as_dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}
