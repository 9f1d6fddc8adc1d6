"""Access policy: settings, the gate, the per-invoice filter and Slack Connect, with fakes."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any, cast

import pytest
from pydantic import ValidationError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from tasks.ekuaibao.client import EkuaibaoClient
from tasks.ekuaibao.errors import BadRequest, Unavailable
from tasks.ekuaibao.flows import FlowParticipants
from tasks.ekuaibao.masters import InvoiceMaster, ReportInfo
from tasks.lookup.access import OPEN_MODE_WARNING, AccessChecker, AccessPolicy, Decision
from tasks.settings import Settings, load_settings
from tests.fakes import Clock

ACCESS_ENV = (
    "ACCESS_MODE",
    "ALLOWED_SLACK_USERS",
    "ALLOWED_SLACK_USERGROUPS",
    "ALLOWED_SLACK_CHANNELS",
    "FINANCE_SLACK_USERS",
    "ALLOW_SHARED_CHANNELS",
)

TEAM = "T0HOME"
SUBMITTER = "corp:SUBMITTER"
APPROVER = "corp:APPROVER"
PAST_APPROVER = "corp:PAST"
STRANGER = "corp:STRANGER"
EMAILS = {
    "USUB": "Sandbox.User@Example.com",
    "UAPP": "approver@example.com",
    "UPAST": "past@example.com",
    "USTRANGE": "stranger@example.com",
    "UNOSTAFF": "nobody@example.com",
}
STAFF = {
    "sandbox.user@example.com": SUBMITTER,
    "approver@example.com": APPROVER,
    "past@example.com": PAST_APPROVER,
    "stranger@example.com": STRANGER,
}


@pytest.fixture(autouse=True)
def _no_access_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ACCESS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no developer .env


def slack_error(error: str) -> SlackApiError:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="http://127.0.0.1/api/x",
        req_args={},
        data={"ok": False, "error": error},
        headers={},
        status_code=200,
    )
    return SlackApiError(f"The request to the Slack API failed. ({error})", response)


class FakeSlack:
    def __init__(self) -> None:
        self.users: dict[str, dict[str, Any]] = {
            uid: {"id": uid, "team_id": TEAM, "profile": {"email": email}}
            for uid, email in EMAILS.items()
        }
        self.users["UNOMAIL"] = {"id": "UNOMAIL", "team_id": TEAM, "profile": {}}
        self.users["UBOT"] = {"id": "UBOT", "team_id": TEAM, "is_bot": True, "profile": {}}
        self.users["UGUEST"] = {**self.users["USUB"], "id": "UGUEST", "is_restricted": True}
        self.groups: dict[str, list[str]] = {"SFIN": ["UGRP"], "SOPS": ["UOPS"]}
        self.shared: set[str] = {"CSHARED"}
        #: conversations.info fields over the default (an internal channel).
        self.conversations: dict[str, dict[str, Any]] = {}
        self.fail: dict[str, str] = {}  # method -> Slack error code
        self.calls: list[tuple[str, str]] = []

    def _maybe_fail(self, method: str) -> None:
        if method in self.fail:
            raise slack_error(self.fail[method])

    def users_info(self, *, user: str) -> dict[str, Any]:
        self.calls.append(("users.info", user))
        self._maybe_fail("users.info")
        if user not in self.users:
            raise slack_error("user_not_found")
        return {"ok": True, "user": self.users[user]}

    def usergroups_users_list(self, *, usergroup: str) -> dict[str, Any]:
        self.calls.append(("usergroups.users.list", usergroup))
        self._maybe_fail("usergroups.users.list")
        if usergroup not in self.groups:
            raise slack_error("no_such_subteam")
        return {"ok": True, "users": self.groups[usergroup]}

    def auth_test(self) -> dict[str, Any]:
        self.calls.append(("auth.test", ""))
        self._maybe_fail("auth.test")
        return {"ok": True, "team_id": TEAM, "user_id": "UTHEBOT"}

    def conversations_info(self, *, channel: str) -> dict[str, Any]:
        self.calls.append(("conversations.info", channel))
        self._maybe_fail("conversations.info")
        if channel.startswith(("CGONE", "DGONE")):
            raise slack_error("channel_not_found")
        info = {"id": channel, "is_ext_shared": channel in self.shared}
        return {"ok": True, "channel": {**info, **self.conversations.get(channel, {})}}

    def count(self, method: str) -> int:
        return sum(1 for m, _ in self.calls if m == method)


class FakeEkuaibao:
    def __init__(self) -> None:
        self.staff = dict(STAFF)
        self.flows: dict[str, FlowParticipants] = {
            "FLOW1": FlowParticipants(
                "FLOW1", SUBMITTER, frozenset({APPROVER, PAST_APPROVER}), owner_id=SUBMITTER
            ),
            "FLOW2": FlowParticipants("FLOW2", STRANGER, frozenset(), owner_id=STRANGER),
        }
        self.email_calls: list[list[str]] = []
        self.flow_calls: list[str] = []
        self.error: Exception | None = None

    def staff_ids_by_email(self, emails: list[str]) -> dict[str, str]:
        self.email_calls.append(list(emails))
        if self.error is not None:
            raise self.error
        return {e.lower(): self.staff[e.lower()] for e in emails if e.lower() in self.staff}

    def flow_participants(self, flow_id: str) -> FlowParticipants:
        self.flow_calls.append(flow_id)
        if self.error is not None:
            raise self.error
        if flow_id not in self.flows:
            raise BadRequest(412, "单据不存在")
        return self.flows[flow_id]


def master(invoice_id: str, flow_id: str | None, submitter: str | None = None) -> InvoiceMaster:
    report = None
    if flow_id is not None or submitter is not None:
        report = ReportInfo(
            flow_id=flow_id,
            code="B1",
            title="t",
            state="approving",
            submitter_id=submitter,
            submitted_ms=None,
            expense_total=None,
        )
    return InvoiceMaster(
        invoice_id=invoice_id,
        object_id="invoice",
        code=None,
        number=None,
        issued_ms=None,
        category=None,
        seller=None,
        buyer=None,
        verified=None,
        total=Decimal("1"),
        report=report,
    )


def policy(mode: str = "allowlist", **kw: Any) -> AccessPolicy:
    values: dict[str, Any] = {
        "users": frozenset(),
        "usergroups": frozenset(),
        "channels": frozenset(),
        "finance": frozenset(),
        "allow_shared_channels": False,
    }
    values.update({k: frozenset(v) if isinstance(v, set) else v for k, v in kw.items()})
    return AccessPolicy(mode=cast(Any, mode), **values)


def checker(
    pol: AccessPolicy,
    slack: FakeSlack | None = None,
    ekb: FakeEkuaibao | None = None,
    clock: Clock | None = None,
) -> AccessChecker:
    return AccessChecker(
        pol,
        cast(WebClient, slack) if slack is not None else None,
        cast(EkuaibaoClient, ekb or FakeEkuaibao()),
        clock=clock or Clock(1000.0),
        cache_ttl_s=600,
    )


# settings ---------------------------------------------------------------------------------


def test_settings_defaults_are_open_without_allowlists() -> None:
    s = Settings(_env_file=None)
    assert s.access_mode is None
    assert s.effective_access_mode == "open"
    assert s.allowed_slack_users == frozenset()
    assert s.allow_shared_channels is False


def test_settings_read_comma_separated_ids_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALLOWED_SLACK_USERS", " U0AAA, W0BBB ,,U0AAA")
    monkeypatch.setenv("ALLOWED_SLACK_USERGROUPS", "S0FIN")
    monkeypatch.setenv("ALLOWED_SLACK_CHANNELS", "C0PUB,G0PRIV")
    monkeypatch.setenv("FINANCE_SLACK_USERS", "U0CFO")
    monkeypatch.setenv("ALLOW_SHARED_CHANNELS", "true")
    s = Settings(_env_file=None)
    assert s.allowed_slack_users == frozenset({"U0AAA", "W0BBB"})
    assert s.allowed_slack_usergroups == frozenset({"S0FIN"})
    assert s.allowed_slack_channels == frozenset({"C0PUB", "G0PRIV"})
    assert s.finance_slack_users == frozenset({"U0CFO"})
    assert s.allow_shared_channels is True
    assert s.effective_access_mode == "allowlist"  # an allowlist is set


def test_finance_alone_also_defaults_to_allowlist() -> None:
    assert Settings(_env_file=None, finance_slack_users="U0CFO").effective_access_mode == (
        "allowlist"
    )


@pytest.mark.parametrize("mode", ["open", "allowlist", "ekuaibao", "EKUAIBAO", " Open "])
def test_explicit_mode_wins(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    monkeypatch.setenv("ACCESS_MODE", mode)
    monkeypatch.setenv("ALLOWED_SLACK_USERS", "U0AAA")
    s = Settings(_env_file=None)
    assert s.effective_access_mode == mode.strip().lower()


def test_initialiser_takes_iterables() -> None:
    s = Settings(_env_file=None, allowed_slack_channels=["C0A", "G0B"], access_mode="ekuaibao")
    assert s.allowed_slack_channels == frozenset({"C0A", "G0B"})
    assert s.effective_access_mode == "ekuaibao"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ALLOWED_SLACK_USERS", "U0AAA,alice"),
        ("ALLOWED_SLACK_USERS", "u0lower"),
        ("ALLOWED_SLACK_USERS", "C0CHANNEL"),  # a channel in the users list
        ("FINANCE_SLACK_USERS", "@cfo"),
        ("ALLOWED_SLACK_USERGROUPS", "U0USER"),
        ("ALLOWED_SLACK_CHANNELS", "D0DM"),
        ("ALLOWED_SLACK_CHANNELS", "#general"),
        ("ACCESS_MODE", "everyone"),
        ("ALLOW_SHARED_CHANNELS", "perhaps"),
    ],
)
def test_invalid_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as info:
        Settings(_env_file=None)
    assert info.value.errors()[0]["loc"][0] == name.lower()
    with pytest.raises(SystemExit):
        load_settings()
    assert f"setting {name} is invalid" in capsys.readouterr().err


def test_policy_from_settings() -> None:
    s = Settings(
        _env_file=None,
        allowed_slack_users="U0A",
        allowed_slack_usergroups="S0G",
        allowed_slack_channels="C0C",
        finance_slack_users="U0F",
        allow_shared_channels=True,
    )
    p = AccessPolicy.from_settings(s)
    assert p == AccessPolicy(
        mode="allowlist",
        users=frozenset({"U0A"}),
        usergroups=frozenset({"S0G"}),
        channels=frozenset({"C0C"}),
        finance=frozenset({"U0F"}),
        allow_shared_channels=True,
        mode_explicit=False,
    )
    assert AccessPolicy.from_settings(Settings(_env_file=None, access_mode="open")).mode_explicit


# the gate: open and allowlist ---------------------------------------------------------------


def test_open_mode_allows_anyone_without_lookups() -> None:
    slack = FakeSlack()
    c = checker(policy("open"), slack)
    assert c.may_ask("UANY", "C1") == Decision(True, "open")
    assert slack.calls == []


def test_allowlist_by_user_channel_finance() -> None:
    slack = FakeSlack()
    c = checker(policy(users={"UOK"}, channels={"CFIN"}, finance={"UCFO"}), slack)
    assert c.may_ask("UOK", "CX") == Decision(True, "allowlisted user")
    assert c.may_ask("UX", "CFIN") == Decision(True, "allowlisted channel")
    assert c.may_ask("UCFO", "DX") == Decision(True, "finance")
    assert c.may_ask("UX", "CX") == Decision(False, "not allowlisted")
    assert c.may_ask("UX", "") == Decision(False, "not allowlisted")
    assert slack.calls == []  # no user groups configured: nothing to look up


def test_allowlist_by_usergroup_is_cached() -> None:
    slack, clock = FakeSlack(), Clock(1000.0)
    c = checker(policy(usergroups={"SFIN", "SOPS"}), slack, clock=clock)
    assert c.may_ask("UGRP", "CX") == Decision(True, "usergroup SFIN")
    assert c.may_ask("UOPS", "CX") == Decision(True, "usergroup SOPS")
    assert c.may_ask("UX", "CX") == Decision(False, "not allowlisted")
    assert slack.count("usergroups.users.list") == 2
    slack.groups["SFIN"] = ["UNEW"]
    assert c.may_ask("UNEW", "CX").allowed is False  # still cached
    clock.now += 601
    assert c.may_ask("UNEW", "CX") == Decision(True, "usergroup SFIN")


def test_usergroup_slack_errors_deny_and_never_raise() -> None:
    slack, clock = FakeSlack(), Clock(1000.0)
    slack.fail["usergroups.users.list"] = "missing_scope"
    c = checker(policy(usergroups={"SFIN"}), slack, clock=clock)
    assert c.may_ask("UGRP", "CX") == Decision(False, "could not check usergroup membership")
    del slack.fail["usergroups.users.list"]
    assert c.may_ask("UGRP", "CX").allowed is False  # the failure is remembered briefly
    clock.now += 31
    assert c.may_ask("UGRP", "CX") == Decision(True, "usergroup SFIN")


def test_one_failing_group_does_not_hide_a_match_in_another() -> None:
    slack = FakeSlack()
    c = checker(policy(usergroups={"SGONE", "SOPS"}), slack)  # SGONE: no_such_subteam
    assert c.may_ask("UOPS", "CX") == Decision(True, "usergroup SOPS")


def test_usergroups_without_slack_client_deny() -> None:
    c = checker(policy(usergroups={"SFIN"}), None)
    assert c.may_ask("UGRP", "CX") == Decision(False, "could not check usergroup membership")


# the gate: ekuaibao ---------------------------------------------------------------------------


def test_ekuaibao_gate_maps_email_to_staff_and_caches(caplog: pytest.LogCaptureFixture) -> None:
    slack, ekb, clock = FakeSlack(), FakeEkuaibao(), Clock(1000.0)
    c = checker(policy("ekuaibao"), slack, ekb, clock)
    with caplog.at_level(logging.DEBUG, logger="tasks.lookup.access"):
        assert c.may_ask("USUB", "CX") == Decision(True, "ekuaibao staff")
        assert c.may_ask("USUB", "CY") == Decision(True, "ekuaibao staff")
    assert ekb.email_calls == [["Sandbox.User@Example.com"]]  # sent as Slack has it, once
    assert slack.count("users.info") == 1
    assert "example.com" not in caplog.text.lower()  # emails are never logged
    clock.now += 601
    c.may_ask("USUB", "CX")
    assert len(ekb.email_calls) == 2


@pytest.mark.parametrize(
    ("user", "reason"),
    [
        ("UNOSTAFF", "no Ekuaibao staff for this email"),
        ("UNOMAIL", "no email on the Slack profile"),
        ("UBOT", "bot or app account"),
        ("UGUEST", "guest account"),
        ("UUNKNOWN", "could not read the Slack profile"),
    ],
)
def test_ekuaibao_gate_denials(user: str, reason: str) -> None:
    c = checker(policy("ekuaibao"), FakeSlack())
    assert c.may_ask(user, "CX") == Decision(False, reason)


def test_ekuaibao_gate_finance_needs_no_lookup() -> None:
    slack = FakeSlack()
    c = checker(policy("ekuaibao", finance={"UCFO"}, users={"UOK"}), slack)
    assert c.may_ask("UCFO", "CX") == Decision(True, "finance")
    assert c.may_ask("UOK", "CX") == Decision(False, "could not read the Slack profile")
    assert slack.count("users.info") == 1  # UOK only: allowlists don't count in this mode


def test_ekuaibao_gate_without_slack_client_denies() -> None:
    c = checker(policy("ekuaibao"), None)
    assert c.may_ask("USUB", "CX") == Decision(False, "no Slack client to read the email")


def test_ekuaibao_outage_propagates_and_is_not_cached() -> None:
    ekb = FakeEkuaibao()
    ekb.error = Unavailable("down")
    c = checker(policy("ekuaibao"), FakeSlack(), ekb)
    with pytest.raises(Unavailable):
        c.may_ask("USUB", "CX")
    ekb.error = None
    assert c.may_ask("USUB", "CX").allowed


# the per-invoice filter -------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["open", "allowlist"])
def test_non_ekuaibao_modes_allow_every_invoice(mode: str) -> None:
    ekb = FakeEkuaibao()
    c = checker(policy(mode), FakeSlack(), ekb)
    got = c.may_see("UX", [master("I1", "FLOW2"), master("I2", None)], requested_ids=["I3"])
    assert {k: d.allowed for k, d in got.items()} == {"I1": True, "I2": True, "I3": True}
    assert ekb.flow_calls == [] and ekb.email_calls == []


def test_ekuaibao_submitter_from_the_master_needs_no_flow_lookup() -> None:
    ekb = FakeEkuaibao()
    c = checker(policy("ekuaibao"), FakeSlack(), ekb)
    got = c.may_see("USUB", [master("I1", "FLOW1", submitter=SUBMITTER)])
    assert got == {"I1": Decision(True, "submitter")}
    assert ekb.flow_calls == []


def test_ekuaibao_per_invoice_decisions() -> None:
    ekb = FakeEkuaibao()
    c = checker(policy("ekuaibao"), FakeSlack(), ekb)
    masters = [
        master("ON1", "FLOW1", submitter=SUBMITTER),
        master("ON1B", "FLOW1", submitter=SUBMITTER),
        master("OTHER", "FLOW2", submitter=STRANGER),
        master("LOOSE", None),
        master("GONE", "FLOWX", submitter="corp:SOMEONE"),
    ]
    approver = c.may_see("UAPP", masters, requested_ids=["ON1", "NOPE"])
    assert approver == {
        "ON1": Decision(True, "approver"),
        "ON1B": Decision(True, "approver"),
        "OTHER": Decision(False, "not on the report"),
        "LOOSE": Decision(False, "invoice not on a report"),
        "GONE": Decision(False, "report not found"),
        "NOPE": Decision(False, "invoice not found"),
    }
    assert sorted(ekb.flow_calls) == ["FLOW1", "FLOW2", "FLOWX"]  # once per flow
    past = c.may_see("UPAST", masters[:1])
    assert past == {"ON1": Decision(True, "approver")}
    assert c.may_see("USTRANGE", masters[2:3]) == {"OTHER": Decision(True, "submitter")}
    assert sorted(ekb.flow_calls) == ["FLOW1", "FLOW2", "FLOWX"]  # all cached


def test_ekuaibao_owner_counts_as_submitter() -> None:
    ekb = FakeEkuaibao()
    ekb.flows["FLOW3"] = FlowParticipants("FLOW3", "corp:OTHER", frozenset(), owner_id=APPROVER)
    c = checker(policy("ekuaibao"), FakeSlack(), ekb)
    assert c.may_see("UAPP", [master("I", "FLOW3")]) == {"I": Decision(True, "submitter")}


def test_ekuaibao_user_without_staff_sees_nothing() -> None:
    c = checker(policy("ekuaibao"), FakeSlack())
    got = c.may_see("UNOSTAFF", [master("I1", "FLOW1")], requested_ids=["I1", "I9"])
    assert got == {
        "I1": Decision(False, "no Ekuaibao staff for this email"),
        "I9": Decision(False, "invoice not found"),
    }


def test_ekuaibao_finance_sees_everything_without_lookups() -> None:
    slack, ekb = FakeSlack(), FakeEkuaibao()
    c = checker(policy("ekuaibao", finance={"UCFO"}), slack, ekb)
    got = c.may_see("UCFO", [master("I1", "FLOW2"), master("I2", None)])
    assert got == {"I1": Decision(True, "finance"), "I2": Decision(True, "finance")}
    assert slack.calls == [] and ekb.flow_calls == []


def test_a_new_approver_is_rechecked_after_a_minute() -> None:
    ekb, clock = FakeEkuaibao(), Clock(1000.0)
    c = checker(policy("ekuaibao"), FakeSlack(), ekb, clock)
    invoice = [master("I1", "FLOW2", submitter=STRANGER)]
    assert c.may_see("UAPP", invoice)["I1"].allowed is False
    ekb.flows["FLOW2"] = FlowParticipants("FLOW2", STRANGER, frozenset({APPROVER}))
    assert c.may_see("UAPP", invoice)["I1"].allowed is False  # cached, too fresh to recheck
    clock.now += 61
    assert c.may_see("UAPP", invoice)["I1"] == Decision(True, "approver")
    assert ekb.flow_calls == ["FLOW2", "FLOW2"]


def test_ekuaibao_errors_during_the_filter_propagate() -> None:
    ekb = FakeEkuaibao()
    c = checker(policy("ekuaibao"), FakeSlack(), ekb)
    c.may_ask("UAPP", "CX")  # staff id cached
    ekb.error = Unavailable("down")
    with pytest.raises(Unavailable):
        c.may_see("UAPP", [master("I1", "FLOW1")])
    ekb.error = None
    assert c.may_see("UAPP", [master("I1", "FLOW1")])["I1"].allowed


def test_other_bad_requests_deny_as_unreadable() -> None:
    ekb = FakeEkuaibao()
    c = checker(policy("ekuaibao"), FakeSlack(), ekb)
    c.may_ask("UAPP", "CX")  # staff id cached
    ekb.error = BadRequest(400, "参数错误")
    got = c.may_see("UAPP", [master("I1", "FLOW1")])
    assert got == {"I1": Decision(False, "report could not be read")}


# Slack Connect ------------------------------------------------------------------------------


def test_shared_channels_are_refused_and_cached() -> None:
    slack = FakeSlack()
    c = checker(policy("open"), slack)
    assert c.may_post_in("CSHARED") == Decision(False, "shared channel")
    assert c.may_post_in("CINTERNAL") == Decision(True, "internal channel")
    assert c.may_post_in("CSHARED").allowed is False
    assert slack.count("conversations.info") == 2  # results cached


OWN_DM = {"is_im": True, "user": "USUB"}


@pytest.mark.parametrize(
    ("fields", "channel", "allowed", "reason"),
    [
        (OWN_DM, "D0OWN", True, "direct message"),  # the asker's own DM with the bot
        (
            {"is_im": True, "user": "UAPP"},
            "D0OTHER",
            True,
            "internal direct message with someone else",
        ),
        ({"is_im": True, "user": "UEXT", "is_ext_shared": True}, "D0CONNECT", False, "shared"),
        ({**OWN_DM, "is_ext_shared": True}, "D0OWNEXT", False, "shared channel"),
        ({"is_mpim": True}, "G0MPIM", True, "internal group DM"),
        ({"is_mpim": True, "is_ext_shared": True}, "G0MPIMX", False, "shared channel"),
        ({"is_org_shared": True, "is_shared": True}, "C0ORG", False, "shared channel"),
        ({"is_pending_ext_shared": True}, "C0PENDING", False, "shared channel"),
        ({}, "DGONE1", False, "could not check the channel"),  # a DM between two people
    ],
)
def test_every_conversation_is_checked_dms_included(
    fields: dict[str, Any], channel: str, allowed: bool, reason: str
) -> None:
    slack = FakeSlack()
    slack.conversations[channel] = fields
    got = checker(policy("open"), slack).may_post_in(channel, "USUB")
    assert got.allowed is allowed and got.reason.startswith(reason)
    assert slack.count("conversations.info") == 1  # a D… id is no proof of a DM


def test_pending_shares_count_as_shared() -> None:
    slack = FakeSlack()
    slack.conversations_info = lambda *, channel: {  # type: ignore[method-assign]
        "ok": True,
        "channel": {"id": channel, "is_ext_shared": False, "is_pending_ext_shared": True},
    }
    assert checker(policy("open"), slack).may_post_in("C1") == Decision(False, "shared channel")


def test_allow_shared_channels_overrides() -> None:
    slack = FakeSlack()
    c = checker(policy("open", allow_shared_channels=True), slack)
    assert c.may_post_in("CSHARED") == Decision(True, "shared channels allowed")
    assert slack.calls == []


@pytest.mark.parametrize("channel", ["CGONE1", ""])
def test_unknown_channels_are_refused(channel: str) -> None:
    c = checker(policy("open"), FakeSlack())
    assert c.may_post_in(channel) == Decision(False, "could not check the channel")


def test_channel_check_errors_and_missing_client_refuse() -> None:
    slack = FakeSlack()
    slack.fail["conversations.info"] = "ratelimited"
    assert checker(policy("open"), slack).may_post_in("C1") == Decision(
        False, "could not check the channel"
    )
    assert checker(policy("open"), None).may_post_in("C1") == Decision(
        False, "could not check the channel"
    )
    assert checker(policy("open"), None).may_post_in("D1") == Decision(
        False, "could not check the channel"
    )


# start-up warnings --------------------------------------------------------------------------


def test_open_mode_warns() -> None:
    warnings = checker(policy("open", mode_explicit=True), FakeSlack()).startup_warnings()
    assert warnings == [OPEN_MODE_WARNING]
    defaulted = checker(policy("open", mode_explicit=False), FakeSlack()).startup_warnings()
    assert defaulted[0] == OPEN_MODE_WARNING and "ACCESS_MODE is not set" in defaulted[1]


def test_misconfigurations_warn() -> None:
    empty = checker(policy("allowlist"), FakeSlack()).startup_warnings()
    assert any("nobody can look up invoices" in w for w in empty)
    ekb = checker(policy("ekuaibao", users={"U1"}), None).startup_warnings()
    assert any("users:read.email" in w for w in ekb)
    assert any("ignored with ACCESS_MODE=ekuaibao" in w for w in ekb)
    assert any("only answered privately" in w for w in ekb)
    shared = checker(policy("allowlist", users={"U1"}, allow_shared_channels=True), FakeSlack())
    assert [w for w in shared.startup_warnings() if "ALLOW_SHARED_CHANNELS" in w]
    assert checker(policy("allowlist", users={"U1"}), FakeSlack()).startup_warnings() == []
