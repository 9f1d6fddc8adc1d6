"""The access settings, resolved (pure data), and what an operator should know about them."""

from __future__ import annotations

from dataclasses import dataclass

from tasks.settings import AccessMode, Settings

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


def startup_warnings(policy: AccessPolicy, *, can_read_slack: bool) -> list[str]:
    """What an operator should know about this policy, for the log at start-up."""
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
        if policy.usergroups and not can_read_slack:
            warnings.append(
                "ALLOWED_SLACK_USERGROUPS is set but there is no SLACK_BOT_TOKEN to read "
                "the groups: their members are refused"
            )
    else:
        if not can_read_slack:
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
    elif not can_read_slack:
        warnings.append(
            "no SLACK_BOT_TOKEN to check conversations for Slack Connect: invoice data "
            "is only answered privately, never shared in a channel or DM"
        )
    return warnings
