"""Who is acting: the Slack user as Slack has them now (a full member of this
organisation, tasks.slack.identity), then the Ekuaibao staff record behind their email.

Power (a decision, a login link) reads the staff record uncached: a deactivated or
re-assigned email must stop working at once. Showing a queue may use the day-long cache.
"""

from __future__ import annotations

from tasks.ekuaibao.approval_models import Staff
from tasks.review.deps import ReviewDeps
from tasks.slack.identity import Refusal


def acting_staff(
    deps: ReviewDeps, user_id: str, purpose: str, *, cached: bool = False
) -> Staff | Refusal | None:
    """Their staff record; a `Refusal` when Slack says they may not act here at all; None
    when their email is no active staff member's."""
    who = deps.identity.verify(user_id, purpose)
    if isinstance(who, Refusal):
        return who
    return deps.api.staff_by_email(who.email, cached=cached)
