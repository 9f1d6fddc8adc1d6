"""Only the right people see finance data: allowlists, Ekuaibao roles, Slack Connect."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from sandbox.ekuaibao import APPROVER_EMAIL, STRANGER_EMAIL, EkuaibaoStandIn
from sandbox.slack import SlackStandIn
from tests.integration.harness import RunningBot, start_bot

DISCOUNT = "djg8LshfUkfM00:033002100311:23272058"  # on report B23001249
UNKNOWN = "djg8LshfUkfM00:044031900111:00000000"


@pytest.fixture
def people(slack: SlackStandIn) -> Iterator[None]:
    base = slack.users["U0SANDBOX"]
    for user, email in (
        ("U0APPROVER", APPROVER_EMAIL),
        ("U0STRANGER", STRANGER_EMAIL),
        ("U0NOBODY", "nobody@example.com"),
    ):
        slack.users[user] = {
            **base,
            "id": user,
            "profile": {**base.get("profile", {}), "email": email},
        }
    for user, fields in (
        ("U0GUEST", {"is_restricted": True}),  # a guest with the submitter's email
        ("U0CONNECT", {"is_stranger": True, "team_id": "T0OTHER"}),  # another organisation
    ):
        slack.users[user] = {**base, "id": user, **fields}
    yield
    slack.shared_channels.clear()
    slack.hidden_channels.clear()
    slack.conversations.clear()


def start(ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path, **env: str) -> RunningBot:
    return start_bot(ekuaibao, slack, tmp_path, broker=None, **env)


def wait_for_log(bot: RunningBot, needle: str, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in bot.log():
            return True
        time.sleep(0.1)
    return False


def text(bot: RunningBot, command_text: str, user: str = "U0SANDBOX") -> str:
    command = bot.command(command_text, user_id=user)
    [post] = bot.reply(command)
    return json.dumps(post.body, ensure_ascii=False)


def test_open_mode_warns_at_startup(ekuaibao, slack, tmp_path) -> None:
    bot = start(ekuaibao, slack, tmp_path)
    try:
        assert "¥263.00" in text(bot, DISCOUNT)
        assert wait_for_log(bot, "ACCESS_MODE=open")
    finally:
        bot.stop()


def test_allowlists_of_users_channels_and_finance(ekuaibao, slack, people, tmp_path) -> None:
    bot = start(
        ekuaibao, slack, tmp_path, ALLOWED_SLACK_USERS="U0SANDBOX", FINANCE_SLACK_USERS="U0APPROVER"
    )
    try:
        assert "¥263.00" in text(bot, DISCOUNT)
        assert "¥263.00" in text(bot, DISCOUNT, user="U0APPROVER")
        before = len(ekuaibao.calls_to("detailBatch"))
        refused = text(bot, DISCOUNT, user="U0STRANGER")
        assert "not set up to look up invoices" in refused and "263" not in refused
        assert len(ekuaibao.calls_to("detailBatch")) == before  # refused before Ekuaibao
        assert wait_for_log(bot, "access=denied")
    finally:
        bot.stop()


def test_ekuaibao_roles_decide_and_denials_look_like_not_found(
    ekuaibao, slack, people, tmp_path
) -> None:
    bot = start(ekuaibao, slack, tmp_path, ACCESS_MODE="ekuaibao")
    try:
        submitter = text(bot, "report B23001249")  # U0SANDBOX is the report's submitter
        assert "¥263.00" in submitter and "校验测试" in submitter
        assert "¥263.00" in text(bot, DISCOUNT, user="U0APPROVER")  # an approver on it
        denied = text(bot, DISCOUNT, user="U0STRANGER")
        unknown = text(bot, UNKNOWN, user="U0STRANGER")
        assert "263" not in denied and "Not found, or not yours to see (1)" in denied
        assert (
            denied.replace(DISCOUNT, "X").split('"text"')[1:]
            == unknown.replace(UNKNOWN, "X").split('"text"')[1:]
        )
        report = text(bot, "report B23001249", user="U0STRANGER")
        assert "校验测试" not in report and "Not found, or not yours to see" in report
        refused = text(bot, DISCOUNT, user="U0NOBODY")  # no Ekuaibao staff with that email
        assert "not set up to look up invoices" in refused
    finally:
        bot.stop()


def test_no_finance_data_in_shared_channels(ekuaibao, slack, people, tmp_path) -> None:
    slack.shared_channels.add("C0SANDBOX")
    bot = start(ekuaibao, slack, tmp_path)
    try:
        refused = text(bot, DISCOUNT)
        assert "shared with another organisation" in refused and "263" not in refused
    finally:
        bot.stop()
    allowed = start(ekuaibao, slack, tmp_path / "allowed", ALLOW_SHARED_CHANNELS="true")
    try:
        assert "¥263.00" in text(allowed, DISCOUNT)
    finally:
        allowed.stop()


def test_a_private_channel_the_bot_cannot_see_still_gets_private_answers(
    ekuaibao, slack, people, tmp_path
) -> None:
    """/invoice works in any channel: response_url answers need no membership. Only a
    post everyone in the channel would see needs the channel checked."""
    bot = start(ekuaibao, slack, tmp_path)
    try:
        command = bot.command(DISCOUNT)  # the stand-in's conversations.info knows C0SANDBOX
        [post] = bot.reply(command)
        assert "¥263.00" in json.dumps(post.body, ensure_ascii=False)
        from sandbox.signing import slash_command

        slack.hidden_channels.add("G0PRIVATE")
        url = slack.new_response_url()
        body, headers = slash_command(bot.secret, DISCOUNT, url, channel_id="G0PRIVATE")
        import httpx

        httpx.post(bot.events_url, content=body, headers=headers, timeout=10)
        [private] = slack.wait_for_posts(url, 1, timeout=30)
        assert "¥263.00" in json.dumps(private.body, ensure_ascii=False)
    finally:
        bot.stop()


def test_guests_and_other_organisations_see_nothing_even_with_a_staff_email(
    ekuaibao, slack, people, tmp_path
) -> None:
    bot = start(ekuaibao, slack, tmp_path, ACCESS_MODE="ekuaibao")
    try:
        assert "校验测试" in text(bot, "report B23001249")  # the submitter, a full member
        before = len(ekuaibao.calls_to("detailBatch"))
        for user in ("U0GUEST", "U0CONNECT"):
            refused = text(bot, "report B23001249", user=user)
            assert "Only full members of this Slack workspace" in refused
            assert "校验测试" not in refused and "263" not in refused
        assert len(ekuaibao.calls_to("detailBatch")) == before  # refused before Ekuaibao
        assert wait_for_log(bot, "access=denied: guest account")
        assert wait_for_log(bot, "access=denied: member of another organisation")
    finally:
        bot.stop()


def share_button(bot: RunningBot) -> str:
    [post] = bot.reply(bot.command(DISCOUNT))
    [share] = [
        e
        for b in post.body.get("blocks", [])
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "share_in_channel"
    ]
    return str(share["value"])


def share_in(bot: RunningBot, channel: str) -> dict:
    # each from its own message: the same click twice within 3 s is one click
    ts = f"1700000000.{len(bot.slack.posts):06d}"
    _, url = bot.click("share_in_channel", share_button(bot), channel=channel, message_ts=ts)
    [answer] = bot.slack.wait_for_posts(url, 1, timeout=30)
    return answer.body


def test_share_goes_only_where_finance_data_may_go(ekuaibao, slack, people, tmp_path) -> None:
    """A D… id is no proof of a private DM: a Slack Connect DM is shared with another
    organisation, and a DM between two people is one the bot cannot check."""
    slack.conversations["D0CONNECT"] = {"is_im": True, "user": "U0CONNECT", "is_ext_shared": True}
    bot = start(ekuaibao, slack, tmp_path)
    try:
        posts_before = len(slack.posts)
        connect = share_in(bot, "D0CONNECT")
        assert connect.get("response_type") != "in_channel" and "263" not in json.dumps(connect)
        assert "shared with another organisation" in connect["text"]
        between = share_in(bot, "D0PEOPLE")  # U0SANDBOX's DM with a colleague
        assert between.get("response_type") != "in_channel" and "263" not in json.dumps(between)
        assert "can't check who is in this conversation" in between["text"]
        in_channel = [
            p for p in slack.posts[posts_before:] if p.body.get("response_type") == "in_channel"
        ]
        assert in_channel == []
        assert wait_for_log(bot, "channel=D0CONNECT via=response_url mode=share ids=")
        assert wait_for_log(bot, "access=denied: shared channel outcome=refused")
        own = share_in(bot, "D0SANDBOX")  # the asker's own DM with the bot
        assert own["response_type"] == "in_channel" and "¥263.00" in json.dumps(
            own, ensure_ascii=False
        )
    finally:
        bot.stop()
