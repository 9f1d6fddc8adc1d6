"""The decision guard in-process: one row per reason it refuses, and the cases it lets pass.

Each row starts from one world where an approver may approve (a signed decision, their
Slack email, their staff record, the report waiting at their node as both its log and
approveStates say, the version their modal showed) and changes one thing. Real parsers
read the report (`parse_flow`, `parse_logs`), so the log shapes are Ekuaibao's own.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.doctor.approvals import approvals_check
from tasks.contracts import Decision
from tasks.ekuaibao.approval_models import FlowGone, Staff, Stage, parse_flow
from tasks.ekuaibao.decision_models import License, Report, parse_logs
from tasks.review.decide.deps import DecideDeps, Licence
from tasks.review.decide.guard import Checked, Refused, guard
from tasks.review.decide.service import decide
from tasks.settings import Settings
from tasks.shared import decide_texts
from tasks.shared.decide_texts import decide_texts_for
from tasks.slack import identity
from tasks.slack.identity import SlackIdentity
from tasks.state.decision_ledger import make_ledger

KEY = bytes(range(32))
FLOW, USER, STAFF, OTHER = "ID01gUaRdFlow", "U0APPROVER", "corp:ID01aPpRoVeR", "corp:ID01oThEr"
EMAIL, STAGE, TEAM = "approver@example.com", "部门经理审批", "T0TEAM"
NODE, EARLIER = "FLOW:1177147692E9:53411358E7", "FLOW:447576403E9:261660833"
WAITING = Stage(FLOW, STAGE, ((STAFF, "审批人"),))
APPROVER = Staff(STAFF, "审批人", EMAIL, "dept")


def _entry(action: str, **attributes: Any) -> dict[str, Any]:
    return {"action": action, "operatorId": "corp:ID01sUbMiT", "time": 1, "attributes": attributes}


def _body() -> dict[str, Any]:
    invoices = [{"feeTypeForm": {"invoiceForm": {"invoices": [{"invoiceId": "inv-1"}]}}}]
    return {
        "value": {
            "id": FLOW,
            "state": "approving",
            "formType": "expense",
            "updateTime": 1_700_000_000_000,
            "form": {
                "code": "B24000001",
                "title": "差旅",
                "submitterId": "corp:ID01sUbMiT",
                "expenseMoney": {"standard": "100.00", "standardStrCode": "CNY"},
                "details": invoices,
            },
            "logs": [
                _entry("freeflow.submit", nodeId="SUBMIT", nextId=EARLIER, nextName="主管审批"),
                _entry(
                    "freeflow.agree",
                    nodeId=EARLIER,
                    nodeName="主管审批",
                    nextId=NODE,
                    nextName=STAGE,
                ),
            ],
            "actions": {STAFF: ["freeflow.agree", "freeflow.reject", "freeflow.comment"]},
        }
    }


class _Slack:
    def __init__(self, world: World) -> None:
        self.world = world

    def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        self.world.told.append(str(kwargs.get("text")))
        return {"ok": True}

    def auth_test(self) -> dict[str, Any]:
        return {"ok": True, "team_id": TEAM, "user_id": "U0BOT"}

    def users_info(self, *, user: str) -> dict[str, Any]:
        if self.world.slack_user is None:
            response = SlackResponse(
                client=None,
                http_verb="GET",
                api_url="users.info",
                req_args={},
                data={"ok": False, "error": "user_not_found"},
                headers={},
                status_code=200,
            )
            raise SlackApiError("user_not_found", response)
        return {"ok": True, "user": self.world.slack_user}


class _Api:
    def __init__(self, world: World, stages: dict[str, Stage]) -> None:
        self.world = world
        self.stages = lambda ids: stages

    def license(self) -> License:
        return License(self.world.licensed, "test")

    def staff_by_email(self, email: str, *, cached: bool = True) -> Staff | None:
        assert not cached, "power reads the staff record now"
        return self.world.staff if email == EMAIL else None

    def report(self, flow_id: str) -> Report:
        if self.world.gone:
            raise FlowGone(flow_id, deleted=True)
        return Report(parse_flow(self.world.body), parse_logs(self.world.body))


def _done(value: Any) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_result(value)
    return future


@dataclass
class World:
    """Everything the guard reads, each part a row may change."""

    body: dict[str, Any] = field(default_factory=_body)
    stage: Stage | None = WAITING
    slack_user: dict[str, Any] | None = field(
        default_factory=lambda: {"id": USER, "team_id": TEAM, "profile": {"email": EMAIL}}
    )
    staff: Staff | None = APPROVER
    enabled: bool = True
    licensed: bool = True
    gone: bool = False
    key: bytes | None = KEY
    #: Changes to the decision; signed afterwards with `signing_key` unless `tampered`.
    decision: dict[str, Any] = field(default_factory=dict)
    signing_key: bytes | None = KEY
    tampered: dict[str, Any] = field(default_factory=dict)
    #: What the person was told in their DM.
    told: list[str] = field(default_factory=list)

    @property
    def value(self) -> dict[str, Any]:
        return self.body["value"]  # type: ignore[no-any-return]

    def shown_version(self) -> str:
        return parse_flow(_body()).version

    def make_decision(self) -> Decision:
        fields: dict[str, Any] = {
            "step": "decide",
            "what": "approve",
            "user_id": USER,
            "team_id": "T0TEAM",
            "flow_id": FLOW,
            "node_id": NODE,
            "version": self.shown_version(),
            **self.decision,
        }
        signed = Decision(**fields).signed(self.signing_key)
        return signed.model_copy(update=self.tampered) if self.tampered else signed

    def deps(self) -> DecideDeps:
        stages = {FLOW: self.stage} if self.stage else {}
        slack = _Slack(self)
        api = _Api(self, stages)
        review = SimpleNamespace(
            slack=slack,
            identity=SlackIdentity(slack),  # type: ignore[arg-type]
            api=api,
            submit=lambda fn, *args: _done(fn(*args)),
        )
        return DecideDeps(
            review=review,  # type: ignore[arg-type]
            ledger=None,  # type: ignore[arg-type]
            licence=Licence(api, enabled=self.enabled),  # type: ignore[arg-type]
            interval_s=1.0,
            key=self.key,
        )


def _slack_user(world: World, **fields: Any) -> None:
    assert world.slack_user is not None
    world.slack_user = {**world.slack_user, **fields}


def _trailing(world: World, *entries: dict[str, Any]) -> None:
    world.value["logs"].extend(entries)


def _money(world: World, amount: str) -> None:
    world.value["form"]["expenseMoney"]["standard"] = amount


def _add_invoice(world: World) -> None:
    detail = copy.deepcopy(world.value["form"]["details"][0])
    detail["feeTypeForm"]["invoiceForm"]["invoices"][0]["invoiceId"] = "inv-2"
    world.value["form"]["details"].append(detail)


#: (what differs from the world where approving is allowed, how it is changed, the reason).
REFUSALS: list[tuple[str, Callable[[World], None], str]] = [
    ("unsigned task", lambda w: setattr(w, "signing_key", None), "unsigned"),
    ("signed with another key", lambda w: setattr(w, "signing_key", b"x" * 32), "bad signature"),
    ("user changed after signing", lambda w: w.tampered.update(user_id="U0OTHER"), "bad signature"),
    ("node changed after signing", lambda w: w.tampered.update(node_id=EARLIER), "bad signature"),
    (
        "version changed after signing",
        lambda w: w.tampered.update(version="1|1|1"),
        "bad signature",
    ),
    ("comment changed after signing", lambda w: w.tampered.update(comment="x"), "bad signature"),
    ("worker without a key", lambda w: setattr(w, "key", None), "no decision key"),
    ("switched off", lambda w: setattr(w, "enabled", False), "off or not licensed"),
    ("not licensed", lambda w: setattr(w, "licensed", False), "off or not licensed"),
    ("malformed flow id", lambda w: w.decision.update(flow_id="ID01/../x"), "malformed ids"),
    ("malformed node id", lambda w: w.decision.update(node_id="FLOW:1 2"), "malformed ids"),
    ("Slack user unknown", lambda w: setattr(w, "slack_user", None), identity.UNREADABLE),
    ("no Slack email", lambda w: _slack_user(w, profile={}), identity.NO_EMAIL),
    ("deactivated in Slack", lambda w: _slack_user(w, deleted=True), identity.INACTIVE),
    ("a bot", lambda w: _slack_user(w, is_bot=True), identity.BOT),
    ("a guest", lambda w: _slack_user(w, is_restricted=True), identity.GUEST),
    ("a single-channel guest", lambda w: _slack_user(w, is_ultra_restricted=True), identity.GUEST),
    ("a stranger", lambda w: _slack_user(w, is_stranger=True), identity.OTHER_ORG),
    ("another team", lambda w: _slack_user(w, team_id="T0OTHER"), identity.OTHER_ORG),
    (
        "email not confirmed",
        lambda w: _slack_user(w, is_email_confirmed=False),
        identity.UNCONFIRMED,
    ),
    ("no staff", lambda w: setattr(w, "staff", None), "no active staff with that email"),
    ("report gone", lambda w: setattr(w, "gone", True), "report gone"),
    ("no approveStates", lambda w: setattr(w, "stage", None), "not a current approver"),
    (
        "not a current approver",
        lambda w: setattr(w, "stage", Stage(FLOW, STAGE, ((OTHER, "别人"),))),
        "not a current approver",
    ),
    ("report not approving", lambda w: w.value.update(state="rejected"), "report is rejected"),
    (
        "at another node",
        lambda w: w.decision.update(node_id=EARLIER),
        "report at another node",
    ),
    (
        "a decision without its node",
        lambda w: w.decision.update(node_id=""),
        "report at another node",
    ),
    (
        "no node, after a trailing comment",
        lambda w: (
            _trailing(w, _entry("freeflow.comment", comment="?")),
            w.decision.update(node_id=""),
        ),
        "report at another node",
    ),
    (
        "node unknown: the last moving entry has no nextId",
        lambda w: _trailing(w, _entry("freeflow.hangUp", comment="")),
        "node unknown",
    ),
    (
        "node unknown: log and approveStates name different nodes",
        lambda w: setattr(w, "stage", Stage(FLOW, "财务审批", ((STAFF, "审批人"),))),
        "node unknown",
    ),
    ("node unknown: no log", lambda w: w.value.update(logs=[]), "node unknown"),
    ("amount raised", lambda w: _money(w, "10000.00"), "report changed"),
    ("updateTime moved", lambda w: w.value.update(updateTime=1_700_000_000_001), "report changed"),
    ("an invoice added", _add_invoice, "report changed"),
    ("a Confirm that showed no version", lambda w: w.decision.update(version=""), "report changed"),
    (
        "not in actions",
        lambda w: w.value.update(actions={STAFF: ["freeflow.reject"]}),
        "not in actions",
    ),
    (
        "ask without any action",
        lambda w: (w.value.update(actions={}), w.decision.update(what="ask")),
        "not in actions",
    ),
    (
        "needs select.approver",
        lambda w: w.value["actions"][STAFF].append("freeflow.select.approver"),
        "needs select.approver",
    ),
    (
        "rejectTo not an earlier node",
        lambda w: w.decision.update(what="reject", reject_to="FLOW:9E9:9"),
        "rejectTo not an earlier node",
    ),
]

#: Changes after which the decision still passes (what it is for is unchanged).
ALLOWED: list[tuple[str, Callable[[World], None]]] = [
    ("as the modal showed it", lambda w: None),
    ("after a trailing comment", lambda w: _trailing(w, _entry("freeflow.comment", comment="?"))),
    ("after a reminder", lambda w: _trailing(w, _entry("freeflow.remind"))),
    ("the modal's check (no version yet)", lambda w: w.decision.update(step="prepare", version="")),
    ("reject to an earlier node", lambda w: w.decision.update(what="reject", reject_to=EARLIER)),
    ("ask", lambda w: w.decision.update(what="ask", comment="which trip?")),
]


@pytest.mark.parametrize(
    ("change", "reason"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_the_guard_refuses(change: Callable[[World], None], reason: str) -> None:
    world = World()
    change(world)
    with pytest.raises(Refused) as refused:
        guard(world.deps(), world.make_decision(), decide_texts.EN)
    assert refused.value.reason == reason
    assert "nothing" in refused.value.text or "Ekuaibao" in refused.value.text  # says what next


@pytest.mark.parametrize("change", [r[1] for r in ALLOWED], ids=[r[0] for r in ALLOWED])
def test_the_guard_lets_pass(change: Callable[[World], None]) -> None:
    world = World()
    change(world)
    checked = guard(world.deps(), world.make_decision(), decide_texts.EN)
    assert isinstance(checked, Checked)
    assert (checked.staff_id, checked.node_id) == (STAFF, NODE)


def test_a_refused_decision_frees_its_own_unsent_claim(tmp_path: Path) -> None:
    """It waited for the tenant's slot, then the report was rejected: a decision on the
    report as it comes back must not be told "already on its way" for minutes."""
    world = World()
    deps = world.deps()
    deps.ledger = make_ledger(None, tmp_path)
    decision = world.make_decision()
    key = f"{FLOW}|{NODE}|{STAFF}"
    assert deps.ledger.claim(key, {"id": decision.decision_id, "phase": "queued", "at": 0}) is None
    world.value.update(state="rejected")
    decide(decision, deps)
    assert deps.ledger.get(key) is None
    assert world.told and "rejected" in world.told[-1]


def test_the_version_is_what_the_modal_showed() -> None:
    flow = parse_flow(_body())
    assert flow.version == "1700000000000|100.00|1"
    raised = _body()
    raised["value"]["form"]["expenseMoney"]["standard"] = "10000"
    assert parse_flow(raised).version != flow.version
    assert Decimal(parse_flow(raised).version.split("|")[1]) == Decimal(10000)


def test_decide_texts_follow_the_language() -> None:
    assert (
        decide_texts_for("zh-CN") is decide_texts.ZH and decide_texts_for(None) is decide_texts.EN
    )


# -- the key bot and workers share ---------------------------------------------------------


def test_one_env_gives_every_process_the_same_derived_key() -> None:
    secret, app_token, own = "s" * 32, "xapp-1-" + "a" * 30, "k" * 32
    from_secret = Settings(slack_signing_secret=secret).decision_key
    assert from_secret and from_secret == Settings(slack_signing_secret=secret).decision_key
    assert from_secret != secret.encode()  # derived: the Slack secret is not the key itself
    both = Settings(slack_signing_secret=secret, slack_app_token=app_token)
    assert both.decision_key == from_secret  # the signing secret comes first
    assert Settings(slack_app_token=app_token).decision_key not in (None, from_secret)
    assert Settings(decision_signing_key=own, slack_signing_secret=secret).decision_key not in (
        None,
        from_secret,
    )
    assert Settings().decision_key is None
    with pytest.raises(ValueError, match="32"):
        Settings(decision_signing_key="short")


def test_the_doctor_warns_when_decisions_cannot_be_signed() -> None:
    check = approvals_check(Settings(approvals_in_slack=True), client=None)  # type: ignore[arg-type]
    assert check.status == "warn" and "DECISION_SIGNING_KEY" in check.detail


def test_a_signature_covers_everything_that_grants_power() -> None:
    signed = World().make_decision()
    assert signed.signed_by(KEY) and not signed.signed_by(None) and not signed.signed_by(b"k" * 32)
    for name, value in {
        "step": "prepare",
        "what": "reject",
        "user_id": "U0OTHER",
        "team_id": "T0OTHER",
        "flow_id": "ID01other",
        "node_id": EARLIER,
        "view_id": "V0OTHER",
        "version": "1|2|3",
        "reject_to": EARLIER,
        "resubmit_method": "TO_REJECTOR",
        "comment": "another",
        "decision_id": "0" * 16,
    }.items():
        assert not signed.model_copy(update={name: value}).signed_by(KEY), name
    assert signed.model_copy(update={"language": "zh"}).signed_by(KEY)  # wording only


def test_the_bot_signs_each_decision_it_queues() -> None:
    from bot.enqueue import celery_enqueue

    class Celery:
        def __init__(self) -> None:
            self.sent: list[dict[str, Any]] = []

        def send_task(self, name: str, args: list[Any], **_: Any) -> None:
            self.sent.append(args[0])

    celery = Celery()
    decision = World().make_decision().model_copy(update={"signature": ""})
    celery_enqueue(celery, KEY)(decision)  # type: ignore[arg-type]
    celery_enqueue(celery, None)(decision)  # type: ignore[arg-type]
    signed, unsigned = (Decision.model_validate(args) for args in celery.sent)
    assert signed.signed_by(KEY) and signed.model_copy(update={"signature": ""}) == decision
    assert unsigned.signature == "" and not unsigned.signed_by(KEY)
