"""Who may hold power or see finance data here: one answer, from Slack's own user record.

An email alone says too little: a guest, a Slack Connect member of another organisation,
a deactivated account or a bot can all carry an email that matches an Ekuaibao staff
member. `member` decides from the users.info (or users.lookupByEmail) `user` object and
this installation's identity; `SlackIdentity` reads both. The installation is the bot
token's own team and enterprise (auth.test), not the team a request names: in a shared
channel a request may come from the other side, and a token cannot be forged.

Emails are personal data: they are never logged (user ids are).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from tasks.slack.errors import classify

log = logging.getLogger(__name__)
#: One line per refusal: user id, what they tried and why, never an email.
audit_log = logging.getLogger("invoicebot.audit")
#: A failed auth.test is asked again after this long; a good one holds for the process.
HOME_RETRY_S = 30.0

GUEST = "guest account"
OTHER_ORG = "member of another organisation"
INACTIVE = "deactivated Slack account"
BOT = "bot or app account"
UNCONFIRMED = "email not confirmed"
NO_EMAIL = "no email on the Slack profile"
UNREADABLE = "could not read the Slack profile"
NO_HOME = "could not read this installation's team"
#: Every reason `member` may give: a decision with one of these is about the person.
REASONS = frozenset({GUEST, OTHER_ORG, INACTIVE, BOT, UNCONFIRMED, NO_EMAIL, UNREADABLE, NO_HOME})


@dataclass(frozen=True)
class Home:
    """This installation: the bot token's team, and its Enterprise Grid org if any."""

    team_id: str
    enterprise_id: str = ""


@dataclass(frozen=True)
class Member:
    """A full member of this installation's organisation, and their verified email."""

    user_id: str
    email: str


@dataclass(frozen=True)
class Refusal:
    """Why this Slack user may not hold power or see finance data (one of `REASONS`)."""

    reason: str


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _flag(user: Mapping[str, Any], name: str) -> bool:
    return user.get(name) is True


def _same_org(user: Mapping[str, Any], home: Home) -> bool:
    enterprise = str(_dict(user.get("enterprise_user")).get("enterprise_id") or "")
    team = str(user.get("team_id") or "")
    if home.enterprise_id and enterprise:
        return enterprise == home.enterprise_id
    return bool(team) and team == home.team_id and not enterprise


def member(user: Mapping[str, Any], home: Home | None) -> Member | Refusal:
    """A verified member, or why not. Pure: the user object as Slack sends it."""
    user_id = user.get("id")
    if not isinstance(user_id, str) or not user_id:
        return Refusal(UNREADABLE)
    if _flag(user, "deleted"):
        return Refusal(INACTIVE)
    if _flag(user, "is_bot") or _flag(user, "is_workflow_bot") or user_id == "USLACKBOT":
        return Refusal(BOT)
    if _flag(user, "is_restricted") or _flag(user, "is_ultra_restricted"):
        return Refusal(GUEST)
    if _flag(user, "is_stranger"):
        return Refusal(OTHER_ORG)
    if home is None:
        return Refusal(NO_HOME)
    if not _same_org(user, home):
        return Refusal(OTHER_ORG)
    if user.get("is_email_confirmed") is False:
        return Refusal(UNCONFIRMED)
    email = _dict(user.get("profile")).get("email")
    if not isinstance(email, str) or "@" not in email.strip():
        return Refusal(NO_EMAIL)
    return Member(user_id, email.strip())


def home_of(auth: Mapping[str, Any]) -> Home | None:
    """The installation in an auth.test answer (None when it names no team)."""
    team = auth.get("team_id")
    if not isinstance(team, str) or not team:
        return None
    return Home(team, str(auth.get("enterprise_id") or ""))


class SlackIdentity:
    """Reads users.info now (never cached) and the installation once. Thread-safe."""

    def __init__(
        self, slack: WebClient | None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.slack = slack
        self._clock = clock
        self._home: Home | None = None
        self._home_failed_at: float | None = None
        self._lock = threading.Lock()

    def home(self) -> Home | None:
        with self._lock:
            if self._home is not None:
                return self._home
            failed = self._home_failed_at
        if self.slack is None or (failed is not None and self._clock() - failed < HOME_RETRY_S):
            return None
        try:
            auth = self.slack.auth_test()
            home = home_of(
                {"team_id": auth.get("team_id"), "enterprise_id": auth.get("enterprise_id")}
            )
        except (SlackClientError, OSError) as exc:
            log.warning("could not read this installation's team (%s)", classify(exc).code)
            home = None
        with self._lock:
            self._home = home
            self._home_failed_at = None if home else self._clock()
        return home

    def check(self, user: Mapping[str, Any], purpose: str) -> Member | Refusal:
        """`member` against this installation; a refusal is logged for the admin."""
        found = member(user, self.home())
        if isinstance(found, Refusal):
            refused(str(user.get("id") or "-"), purpose, found)
        return found

    def verify(self, user_id: str, purpose: str) -> Member | Refusal:
        """The user as Slack has them now, checked."""
        if self.slack is None:
            return refused(user_id, purpose, Refusal(UNREADABLE))
        try:
            user = _dict(self.slack.users_info(user=user_id).get("user"))
        except (SlackClientError, OSError) as exc:
            log.warning("could not read the Slack profile of %s (%s)", user_id, classify(exc).code)
            return refused(user_id, purpose, Refusal(UNREADABLE))
        return self.check(user, purpose)


def refused(user_id: str, purpose: str, refusal: Refusal) -> Refusal:
    audit_log.info(
        "identity user=%s for=%s outcome=refused reason=%s", user_id, purpose, refusal.reason
    )
    log.warning(
        "admin: Slack user %s may not %s here: %s (Slack's own record of them)",
        user_id,
        purpose,
        refusal.reason,
    )
    return refusal
