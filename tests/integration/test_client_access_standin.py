"""The client's access look-ups and the AccessChecker over 127.0.0.1, against the stand-ins."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from slack_sdk import WebClient

from sandbox.ekuaibao import (
    APPROVER_EMAIL,
    APPROVER_ID,
    DEMO_INVOICE_IDS,
    FORMER_EMAIL,
    REPORT_ID,
    STRANGER_EMAIL,
    STRANGER_ID,
    SUBMITTER_EMAIL,
    SUBMITTER_ID,
    EkuaibaoStandIn,
    SandboxWorld,
)
from sandbox.slack import DEFAULT_USER_ID, TEAM_ID, SlackStandIn
from tasks.ekuaibao.client import (
    Credentials,
    EkuaibaoClient,
)
from tasks.ekuaibao.errors import BadRequest
from tasks.ekuaibao.tokens import MemoryTokenStore
from tasks.lookup.access import AccessChecker, AccessPolicy, Decision


@pytest.fixture
def ekb() -> Iterator[EkuaibaoStandIn]:
    with EkuaibaoStandIn(world=SandboxWorld.load()) as standin:
        yield standin


@pytest.fixture
def client(ekb: EkuaibaoStandIn) -> Iterator[EkuaibaoClient]:
    with httpx.Client(base_url=ekb.base_url, timeout=5) as http:
        yield EkuaibaoClient(
            http,
            Credentials(ekb.app_key, ekb.app_security),
            MemoryTokenStore(),
            sleep=lambda s: None,
        )


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


def web(slack: SlackStandIn) -> WebClient:
    return WebClient(base_url=slack.api_url, token="xoxb-sandbox-token", timeout=5)


def test_stand_in_staff_by_email(client: EkuaibaoClient, ekb: EkuaibaoStandIn) -> None:
    found = client.staff_ids_by_email(
        [SUBMITTER_EMAIL.upper(), APPROVER_EMAIL, STRANGER_EMAIL, FORMER_EMAIL, "x@nowhere.test"]
    )
    assert found == {
        SUBMITTER_EMAIL: SUBMITTER_ID,
        APPROVER_EMAIL: APPROVER_ID,
        STRANGER_EMAIL: STRANGER_ID,
    }
    assert [c.status for c in ekb.calls_to("getStaffIds")] == [200]


def test_stand_in_flow_participants(client: EkuaibaoClient, ekb: EkuaibaoStandIn) -> None:
    got = client.flow_participants(REPORT_ID)
    assert got.submitter_id == got.owner_id == SUBMITTER_ID
    assert got.approver_ids == frozenset({APPROVER_ID})
    with pytest.raises(BadRequest) as info:
        client.flow_participants("ID01nothingHere")
    assert info.value.status == 412
    assert "单据不存在" in str(info.value)
    states = ekb.calls_to("approveStates")
    assert len(states) == 1 and states[0].method == "GET" and states[0].status == 200


def test_stand_in_approvers_follow_the_world(client: EkuaibaoClient, ekb: EkuaibaoStandIn) -> None:
    ekb.world.approve_states[REPORT_ID]["operators"] = [{"id": STRANGER_ID, "name": "x"}]
    got = client.flow_participants(REPORT_ID)
    assert got.approver_ids == frozenset({APPROVER_ID, STRANGER_ID})


def test_checker_end_to_end_in_ekuaibao_mode(
    client: EkuaibaoClient, ekb: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    home = {"team_id": TEAM_ID}  # users.info always names the user's team
    slack.users["U0APPROVER"] = {"id": "U0APPROVER", "email": APPROVER_EMAIL, "profile": {}, **home}
    slack.users["U0STRANGER"] = {"id": "U0STRANGER", "profile": {"email": STRANGER_EMAIL}, **home}
    slack.users["U0NOMAIL"] = {"id": "U0NOMAIL", "profile": {}, **home}
    policy = AccessPolicy(
        mode="ekuaibao",
        users=frozenset(),
        usergroups=frozenset(),
        channels=frozenset(),
        finance=frozenset(),
        allow_shared_channels=False,
    )
    checker = AccessChecker(policy, web(slack), client)
    masters = client.invoice_masters("invoice", DEMO_INVOICE_IDS)
    ids = [m.invoice_id for m in masters]
    assert masters and all(m.report is not None for m in masters)

    assert checker.may_ask(DEFAULT_USER_ID, "C0GENERAL") == Decision(True, "ekuaibao staff")
    assert set(checker.may_see(DEFAULT_USER_ID, masters).values()) == {Decision(True, "submitter")}
    approver = checker.may_see("U0APPROVER", masters, requested_ids=[*ids, "ID01missing"])
    assert {d for i, d in approver.items() if i != "ID01missing"} == {Decision(True, "approver")}
    assert approver["ID01missing"] == Decision(False, "invoice not found")
    assert set(checker.may_see("U0STRANGER", masters).values()) == {
        Decision(False, "not on the report")
    }
    assert checker.may_ask("U0NOMAIL", "C1") == Decision(False, "no email on the Slack profile")
    assert checker.may_ask("U0NOBODY", "C1") == Decision(False, "could not read the Slack profile")
    assert len(ekb.calls_to("flowDetails")) == 1  # one report, cached across users


def test_checker_end_to_end_allowlist_and_shared_channels(
    client: EkuaibaoClient, slack: SlackStandIn
) -> None:
    slack.usergroups["S0FINANCE"] = ["U0MEMBER"]
    slack.shared_channels.add("C0CONNECT")
    policy = AccessPolicy(
        mode="allowlist",
        users=frozenset(),
        usergroups=frozenset({"S0FINANCE", "S0GONE"}),
        channels=frozenset(),
        finance=frozenset(),
        allow_shared_channels=False,
    )
    checker = AccessChecker(policy, web(slack), client)
    assert checker.may_ask("U0MEMBER", "C1") == Decision(True, "usergroup S0FINANCE")
    assert checker.may_ask("U0OTHER", "C1") == Decision(
        False, "could not check usergroup membership"
    )
    assert checker.may_post_in("C0CONNECT") == Decision(False, "shared channel")
    assert checker.may_post_in("C0INTERNAL") == Decision(True, "internal channel")
    assert checker.may_post_in("X0WEIRD") == Decision(False, "could not check the channel")
