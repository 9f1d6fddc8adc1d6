"""Who may hold power or see finance data: one row per refusal, and the installation read once."""

from __future__ import annotations

import logging
from typing import Any, cast

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from tasks.slack.identity import (
    BOT,
    GUEST,
    HOME_RETRY_S,
    INACTIVE,
    NO_EMAIL,
    NO_HOME,
    OTHER_ORG,
    REASONS,
    UNCONFIRMED,
    UNREADABLE,
    Home,
    Member,
    Refusal,
    SlackIdentity,
    home_of,
    member,
)
from tests.fakes import Clock

HOME = Home("T0HOME")
GRID = Home("T0HOME", "E0ORG")
EMAIL = "Ann.Lee@Example.com"


def person(**fields: Any) -> dict[str, Any]:
    """A full member as users.info describes one, with `fields` changed."""
    user: dict[str, Any] = {
        "id": "U0ANN",
        "team_id": "T0HOME",
        "deleted": False,
        "is_bot": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_email_confirmed": True,
        "profile": {"email": EMAIL},
    }
    user.update(fields)
    return user


@pytest.mark.parametrize(
    ("user", "home", "reason"),
    [
        (person(is_restricted=True), HOME, GUEST),  # multi-channel guest
        (person(is_ultra_restricted=True), HOME, GUEST),  # single-channel guest
        (person(is_stranger=True), HOME, OTHER_ORG),  # Slack Connect: another organisation
        (person(team_id="T0OTHER"), HOME, OTHER_ORG),
        (person(team_id=None), HOME, OTHER_ORG),  # no team: not provably ours
        (person(enterprise_user={"enterprise_id": "E0OTHER"}), GRID, OTHER_ORG),
        (person(enterprise_user={"enterprise_id": "E0ORG"}), HOME, OTHER_ORG),
        (person(deleted=True), HOME, INACTIVE),
        (person(is_bot=True), HOME, BOT),
        (person(is_workflow_bot=True), HOME, BOT),
        (person(id="USLACKBOT"), HOME, BOT),
        (person(is_email_confirmed=False), HOME, UNCONFIRMED),
        (person(profile={}), HOME, NO_EMAIL),
        (person(profile={"email": "not-an-email"}), HOME, NO_EMAIL),
        (person(id=None), HOME, UNREADABLE),
        ({}, HOME, UNREADABLE),
        (person(), None, NO_HOME),  # the installation could not be read: nobody passes
        # a guest stays a guest, whatever else is wrong: the first reason wins
        (person(is_restricted=True, team_id="T0OTHER"), HOME, GUEST),
    ],
)
def test_each_refusal(user: dict[str, Any], home: Home | None, reason: str) -> None:
    assert member(user, home) == Refusal(reason)
    assert reason in REASONS


@pytest.mark.parametrize(
    ("user", "home"),
    [
        (person(), HOME),
        (person(is_email_confirmed=None), HOME),  # Slack did not say: not a refusal
        ({k: v for k, v in person().items() if k != "is_email_confirmed"}, HOME),
        (person(team_id="T0SISTER", enterprise_user={"enterprise_id": "E0ORG"}), GRID),
        (person(), GRID),  # a Grid install, the user of its own workspace
    ],
)
def test_full_members_pass_with_their_email(user: dict[str, Any], home: Home) -> None:
    assert member(user, home) == Member("U0ANN", EMAIL)


def test_home_of_auth_test() -> None:
    assert home_of({"team_id": "T1", "enterprise_id": "E1"}) == Home("T1", "E1")
    assert home_of({"team_id": "T1"}) == Home("T1", "")
    assert home_of({"ok": False}) is None


def _slack_error(error: str) -> SlackApiError:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="http://127.0.0.1/api/x",
        req_args={},
        data={"ok": False, "error": error},
        headers={},
        status_code=200,
    )
    return SlackApiError(error, response)


class FakeSlack:
    def __init__(self) -> None:
        self.users = {"U0ANN": person(), "U0GUEST": person(id="U0GUEST", is_restricted=True)}
        self.auth_fails = 0
        self.calls: list[str] = []

    def auth_test(self) -> dict[str, Any]:
        self.calls.append("auth.test")
        if self.auth_fails:
            self.auth_fails -= 1
            raise _slack_error("ratelimited")
        return {"ok": True, "team_id": "T0HOME"}

    def users_info(self, *, user: str) -> dict[str, Any]:
        self.calls.append("users.info")
        if user not in self.users:
            raise _slack_error("user_not_found")
        return {"ok": True, "user": self.users[user]}


def test_verify_reads_the_user_every_time_and_the_installation_once() -> None:
    slack = FakeSlack()
    identity = SlackIdentity(cast(WebClient, slack))
    assert identity.verify("U0ANN", "decide") == Member("U0ANN", EMAIL)
    slack.users["U0ANN"] = person(deleted=True)
    assert identity.verify("U0ANN", "decide") == Refusal(INACTIVE)  # no cache of people
    assert identity.verify("U0NOBODY", "decide") == Refusal(UNREADABLE)
    assert slack.calls.count("users.info") == 3 and slack.calls.count("auth.test") == 1


def test_a_failed_installation_read_refuses_and_is_asked_again_later() -> None:
    slack, clock = FakeSlack(), Clock(100.0)
    slack.auth_fails = 1
    identity = SlackIdentity(cast(WebClient, slack), clock=clock)
    assert identity.verify("U0ANN", "decide") == Refusal(NO_HOME)
    assert identity.verify("U0ANN", "decide") == Refusal(NO_HOME)  # not asked again at once
    assert slack.calls.count("auth.test") == 1
    clock.now += HOME_RETRY_S
    assert identity.verify("U0ANN", "decide") == Member("U0ANN", EMAIL)


def test_refusals_are_logged_for_the_admin_without_the_email(
    caplog: pytest.LogCaptureFixture,
) -> None:
    identity = SlackIdentity(cast(WebClient, FakeSlack()))
    with caplog.at_level(logging.INFO):
        assert identity.verify("U0GUEST", "open reports in Ekuaibao") == Refusal(GUEST)
    assert "identity user=U0GUEST for=open reports in Ekuaibao outcome=refused" in caplog.text
    assert "admin: Slack user U0GUEST" in caplog.text
    assert "example.com" not in caplog.text.lower()


def test_no_slack_client_refuses() -> None:
    assert SlackIdentity(None).verify("U0ANN", "decide") == Refusal(UNREADABLE)
