"""The Slack stand-in must enforce Slack's response_url and Web API rules."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from sandbox.slack import SlackStandIn
from tests.fakes import Clock

TOKEN = "xoxb-sandbox-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
HELLO: dict[str, Any] = {
    "text": "hello",
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*hello*"}}],
}
TOO_LONG: dict[str, Any] = {
    "text": "fallback",
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
}


@pytest.fixture
def clock() -> Clock:
    return Clock(1_710_496_535.0)


@pytest.fixture
def slack(clock: Clock) -> Iterator[SlackStandIn]:
    with SlackStandIn(clock=clock) as standin:
        yield standin


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


def call(http: httpx.Client, slack: SlackStandIn, method: str, **params: Any) -> httpx.Response:
    return http.post(slack.api_url + method, json=params, headers=BEARER)


# response_url -----------------------------------------------------------------------------


def test_response_url_shape(slack: SlackStandIn) -> None:
    url = slack.new_response_url()
    prefix = f"{slack.base_url}/commands/T0SANDBOX/"
    assert url.startswith(prefix)
    n, key = url.removeprefix(prefix).split("/")
    assert n.isdigit() and len(key) == 24 and key.isalnum()
    assert slack.new_response_url() != url


def test_response_url_takes_five_posts(slack: SlackStandIn, http: httpx.Client) -> None:
    url = slack.new_response_url()
    for _ in range(5):
        r = http.post(url, json=HELLO)
        assert (r.status_code, r.text) == (200, "ok")
    r = http.post(url, json=HELLO)
    assert (r.status_code, r.text) == (404, "used_url")
    posts = slack.posts_for(url)
    assert [p.status for p in posts] == [200] * 5 + [404]
    assert posts[0].body == HELLO and posts[0].key == url.rsplit("/", 1)[-1]


def test_response_url_expires_after_30_minutes(
    slack: SlackStandIn, http: httpx.Client, clock: Clock
) -> None:
    url = slack.new_response_url()
    clock.advance(30 * 60)
    assert http.post(url, json=HELLO).status_code == 200
    clock.advance(1)
    r = http.post(url, json=HELLO)
    assert (r.status_code, r.text) == (404, "expired_url")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (json.dumps(TOO_LONG), "invalid_blocks"),
        ("{not json", "invalid_payload"),
        (json.dumps({"response_type": "ephemeral"}), "no_text"),
        (json.dumps({"text": "", "blocks": []}), "no_text"),
    ],
)
def test_response_url_rejections_are_recorded_and_free(
    slack: SlackStandIn, http: httpx.Client, content: str, expected: str
) -> None:
    url = slack.new_response_url()
    r = http.post(url, content=content, headers={"Content-Type": "application/json"})
    assert (r.status_code, r.text) == (400, expected)
    assert [p.status for p in slack.posts_for(url)] == [400]
    for _ in range(5):  # a rejected post does not use up the URL
        assert http.post(url, json=HELLO).status_code == 200


def test_unknown_response_url(slack: SlackStandIn, http: httpx.Client) -> None:
    r = http.post(f"{slack.base_url}/commands/T0SANDBOX/1/{'x' * 24}", json=HELLO)
    assert r.status_code == 404


def test_fail_next_posts(slack: SlackStandIn, http: httpx.Client) -> None:
    url = slack.new_response_url()
    slack.fail_next_posts(2, status=503)
    assert [http.post(url, json=HELLO).status_code for _ in range(3)] == [503, 503, 200]


def test_wait_for_posts(slack: SlackStandIn) -> None:
    url = slack.new_response_url()

    def later() -> None:
        time.sleep(0.05)
        with httpx.Client(timeout=5) as client:
            client.post(url, json=HELLO)
            client.post(url, json={"text": "second", "replace_original": True})

    thread = threading.Thread(target=later)
    thread.start()
    posts = slack.wait_for_posts(url, n=2, timeout=5)
    thread.join()
    assert [p.body.get("text") for p in posts] == ["hello", "second"]
    with pytest.raises(TimeoutError, match=r"expected 3 post\(s\).*got 2"):
        slack.wait_for_posts(url, n=3, timeout=0.05)


def test_webhook_client_from_slack_sdk(slack: SlackStandIn) -> None:
    url = slack.new_response_url()
    response = WebhookClient(url).send(text="hi", blocks=HELLO["blocks"])
    assert (response.status_code, response.body) == (200, "ok")
    assert slack.posts_for(url)[0].body["blocks"] == HELLO["blocks"]


# Web API ----------------------------------------------------------------------------------


def test_auth(slack: SlackStandIn, http: httpx.Client) -> None:
    r = call(http, slack, "auth.test")
    assert r.json()["ok"] is True and r.json()["team_id"] == "T0SANDBOX"
    r = http.post(slack.api_url + "auth.test", data={"token": TOKEN})
    assert r.json()["ok"] is True
    r = http.post(slack.api_url + "auth.test", headers={"Authorization": "Bearer xoxb-wrong"})
    assert (r.status_code, r.json()) == (200, {"ok": False, "error": "invalid_auth"})
    r = http.post(slack.api_url + "auth.test")
    assert r.json()["error"] == "not_authed"
    tokens = [c.token for c in slack.api_calls]
    assert tokens == [TOKEN, TOKEN, "xoxb-wrong", None]


def test_rate_limit(slack: SlackStandIn, http: httpx.Client) -> None:
    slack.rate_limit_next(2, retry_after=3)
    for _ in range(2):
        r = call(http, slack, "chat.postMessage", channel="C1", text="hi")
        assert r.status_code == 429
        assert r.headers["Retry-After"] == "3"
        assert r.json() == {"ok": False, "error": "ratelimited"}
    assert call(http, slack, "chat.postMessage", channel="C1", text="hi").json()["ok"] is True
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 429, 200]


def test_post_update_and_ephemeral(slack: SlackStandIn, http: httpx.Client) -> None:
    r = call(http, slack, "chat.postMessage", channel="C123", **HELLO).json()
    assert r["ok"] is True and r["channel"] == "C123"
    ts = r["ts"]
    r = call(http, slack, "chat.update", channel="C123", ts=ts, text="edited").json()
    assert r["ok"] is True and r["text"] == "edited"
    r = call(http, slack, "chat.update", channel="C123", ts="1.000000", text="x").json()
    assert r["error"] == "message_not_found"
    r = call(http, slack, "chat.postEphemeral", channel="C123", user="U0SANDBOX", text="psst")
    assert r.json()["ok"] is True and r.json()["message_ts"]
    r = call(http, slack, "chat.postMessage", channel="C123").json()
    assert r["error"] == "no_text"


def test_posting_methods_validate_blocks(slack: SlackStandIn, http: httpx.Client) -> None:
    for method, extra in (
        ("chat.postMessage", {}),
        ("chat.postEphemeral", {"user": "U0SANDBOX"}),
    ):
        r = call(http, slack, method, channel="C1", **TOO_LONG, **extra).json()
        assert r["ok"] is False and r["error"] == "invalid_blocks"
        assert r["errors"] == ["/blocks/0/text/text: 3001 chars > 3000"]
    # Form-encoded calls send blocks as a JSON string; they are decoded and checked too.
    form = {"channel": "C1", "text": "t", "blocks": json.dumps(TOO_LONG["blocks"])}
    r = http.post(slack.api_url + "chat.postMessage", data=form, headers=BEARER)
    assert r.json()["error"] == "invalid_blocks"
    assert slack.api_calls[-1].params["blocks"] == TOO_LONG["blocks"]


def test_users_reactions_conversations(slack: SlackStandIn, http: httpx.Client) -> None:
    r = http.get(
        slack.api_url + "users.info",
        params={"user": "U0SANDBOX", "include_locale": "true"},
        headers=BEARER,
    )
    user = r.json()["user"]
    assert (user["locale"], user["tz"], user["real_name"]) == (
        "en-US",
        "Asia/Shanghai",
        "Sandbox User",
    )
    assert user["profile"]["email"] == "sandbox.user@example.com"
    no_locale = call(http, slack, "users.info", user="U0SANDBOX").json()["user"]
    assert "locale" not in no_locale  # real Slack only sends it when asked
    assert call(http, slack, "users.info", user="U404").json()["error"] == "user_not_found"

    reaction = {"channel": "C1", "timestamp": "1.000001", "name": "eyes"}
    assert call(http, slack, "reactions.add", **reaction).json()["ok"] is True
    assert call(http, slack, "reactions.add", **reaction).json()["error"] == "already_reacted"
    assert call(http, slack, "reactions.remove", **reaction).json()["ok"] is True
    assert call(http, slack, "reactions.remove", **reaction).json()["error"] == "no_reaction"

    channel = call(http, slack, "conversations.open", users="U0SANDBOX").json()["channel"]["id"]
    assert channel.startswith("D")
    info = call(http, slack, "conversations.info", channel=channel).json()["channel"]
    assert info["is_im"] is True
    assert call(http, slack, "conversations.info", channel="X1").json()["error"] == (
        "channel_not_found"
    )
    assert call(http, slack, "views.push").json() == {"ok": False, "error": "unknown_method"}
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Approve report"}}
    modal["blocks"] = [{"type": "section", "text": {"type": "mrkdwn", "text": "checking"}}]
    view = json.dumps(modal)
    assert call(http, slack, "views.open", trigger_id="1.2.3", view=view).json()["error"] == (
        "invalid_trigger_id"
    )
    trigger = slack.new_trigger()
    opened = call(http, slack, "views.open", trigger_id=trigger, view=view).json()
    assert opened["ok"] is True and opened["view"]["id"].startswith("V")
    again = call(http, slack, "views.open", trigger_id=trigger, view=view).json()
    assert again["error"] == "trigger_exchanged"  # one modal per trigger
    long_title = json.dumps({**modal, "title": {"type": "plain_text", "text": "x" * 25}})
    updated = call(http, slack, "views.update", view_id=opened["view"]["id"], view=long_title)
    assert updated.json()["error"] == "invalid_arguments"


def test_web_client_from_slack_sdk(slack: SlackStandIn) -> None:
    client = WebClient(token=TOKEN, base_url=slack.api_url)
    assert client.auth_test()["user_id"]
    posted = client.chat_postMessage(channel="C1", text="hi", blocks=HELLO["blocks"])
    assert posted["ts"]
    assert client.users_info(user="U0SANDBOX", include_locale=True)["user"]["locale"] == "en-US"
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C1", **TOO_LONG)
    assert err.value.response["error"] == "invalid_blocks"
    slack.rate_limit_next(1, retry_after=7)
    with pytest.raises(SlackApiError) as err:
        client.users_info(user="U0SANDBOX")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "7"


def test_users_info_puts_the_email_under_profile(slack: SlackStandIn) -> None:
    client = WebClient(token=TOKEN, base_url=slack.api_url)
    slack.users["U0TOPLEVEL"] = {"id": "U0TOPLEVEL", "email": "Top.Level@example.com"}
    slack.users["U0NOMAIL"] = {"id": "U0NOMAIL", "profile": {"real_name": "No Mail"}}
    user = client.users_info(user="U0TOPLEVEL")["user"]
    assert user["profile"]["email"] == "Top.Level@example.com"
    assert "email" not in user  # real Slack has it only under profile
    assert "email" in slack.users["U0TOPLEVEL"]  # the entry itself is left alone
    assert "email" not in client.users_info(user="U0NOMAIL")["user"]["profile"]
    default = client.users_info(user="U0SANDBOX")["user"]
    assert default["profile"]["email"] == "sandbox.user@example.com"


def test_usergroups_users_list(slack: SlackStandIn) -> None:
    client = WebClient(token=TOKEN, base_url=slack.api_url)
    slack.usergroups["S0FINANCE"] = ["U0SANDBOX", "U0OTHER"]
    got = client.usergroups_users_list(usergroup="S0FINANCE")
    assert got["ok"] is True and got["users"] == ["U0SANDBOX", "U0OTHER"]
    with pytest.raises(SlackApiError) as err:
        client.usergroups_users_list(usergroup="S0NOPE")
    assert err.value.response["error"] == "no_such_subteam"
    with pytest.raises(SlackApiError) as err:
        client.api_call("usergroups.users.list", params={})
    assert err.value.response["error"] == "invalid_arguments"


def test_conversations_info_says_which_channels_are_slack_connect(slack: SlackStandIn) -> None:
    client = WebClient(token=TOKEN, base_url=slack.api_url)
    slack.shared_channels.add("C0CONNECT")
    shared = client.conversations_info(channel="C0CONNECT")["channel"]
    assert shared["is_ext_shared"] is True and shared["is_shared"] is True
    internal = client.conversations_info(channel="C0INTERNAL")["channel"]
    assert internal["is_ext_shared"] is False and internal["is_pending_ext_shared"] is False
    assert client.conversations_info(channel="D0SANDBOX")["channel"]["is_ext_shared"] is False


def test_conversations_info_describes_dms_group_dms_and_slack_connect_dms(
    slack: SlackStandIn,
) -> None:
    client = WebClient(token=TOKEN, base_url=slack.api_url)
    own = client.conversations_info(channel="D0SANDBOX")["channel"]
    assert own["is_im"] is True and own["user"] == "U0SANDBOX"  # the bot's DM with them
    with pytest.raises(SlackApiError) as err:  # a DM between two people: the bot is not in it
        client.conversations_info(channel="D0PEOPLE")
    assert err.value.response["error"] == "channel_not_found"
    slack.conversations["D0CONNECT"] = {"is_im": True, "user": "U0EXT", "is_ext_shared": True}
    slack.conversations["G0MPIM"] = {"is_mpim": True, "is_group": False}
    connect = client.conversations_info(channel="D0CONNECT")["channel"]
    assert connect["is_im"] and connect["user"] == "U0EXT" and connect["is_ext_shared"]
    assert client.conversations_info(channel="G0MPIM")["channel"]["is_mpim"] is True
    slack.granted_scopes = tuple(s for s in slack.granted_scopes if s != "im:read")
    with pytest.raises(SlackApiError) as err:
        client.conversations_info(channel="D0SANDBOX")
    assert err.value.response["error"] == "missing_scope"
    assert err.value.response["needed"] == "im:read"


def test_users_info_carries_the_flags_that_say_who_someone_is(slack: SlackStandIn) -> None:
    client = WebClient(token=TOKEN, base_url=slack.api_url)
    user = client.users_info(user="U0SANDBOX")["user"]
    assert user["team_id"] == "T0SANDBOX" and user["is_email_confirmed"] is True
    assert user["is_restricted"] is False and user["is_ultra_restricted"] is False
    slack.add_user("U0GUEST", "guest@example.com", is_ultra_restricted=True)
    slack.add_user("U0EXT", "ext@example.org", is_stranger=True, team_id="T0OTHER")
    assert client.users_info(user="U0GUEST")["user"]["is_ultra_restricted"] is True
    ext = client.users_info(user="U0EXT")["user"]
    assert ext["is_stranger"] is True and ext["team_id"] == "T0OTHER"
    assert "enterprise_id" not in client.auth_test().data
    slack.enterprise_id = "E0SANDBOX"
    assert client.auth_test()["enterprise_id"] == "E0SANDBOX"
