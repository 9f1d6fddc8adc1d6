"""The replier's fallbacks, with httpx.MockTransport and a fake Web API client (no network)."""

import json
from typing import Any

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from tasks.contracts import ReplyTarget
from tasks.slack.replies import Replier, ReplyFailed, UrlNotSlack

URL = "https://hooks.slack.com/commands/T1/2/secret"
TARGET = ReplyTarget(response_url=URL, channel_id="C1", user_id="U1")
MESSAGE = {"text": "hi", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]}


class FakeWeb:
    def __init__(
        self,
        fail: set[str] = frozenset(),  # type: ignore[assignment]
        error: str = "channel_not_found",
        blocks_only: bool = False,
    ) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail
        self.error = error
        self.blocks_only = blocks_only  # fail only while the call carries blocks

    def __getattr__(self, method: str) -> Any:
        def call(**kwargs: Any) -> dict[str, Any]:
            self.calls.append((method, kwargs))
            if method in self.fail and (kwargs.get("blocks") or not self.blocks_only):
                response = SlackResponse(
                    client=None,
                    http_verb="POST",
                    api_url="x",
                    req_args={},
                    data={"ok": False, "error": self.error},
                    headers={},
                    status_code=200,
                )
                raise SlackApiError("error", response)
            return {"ok": True, "channel": {"id": "D1"}}

        return call


def replier(
    answers: list[httpx.Response], web: FakeWeb | None = None
) -> tuple[Replier, list[dict]]:
    bodies: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return answers.pop(0)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    return Replier(http, web, sleep=lambda s: None), bodies  # type: ignore[arg-type]


def test_invalid_blocks_are_retried_once_as_plain_text() -> None:
    answers = [httpx.Response(400, text="invalid_blocks"), httpx.Response(200, text="ok")]
    reply, bodies = replier(answers)
    reply.deliver(TARGET, [MESSAGE])
    assert "blocks" in bodies[0] and "blocks" not in bodies[1] and bodies[1]["text"] == "hi"


def test_rate_limited_response_url_waits_for_retry_after() -> None:
    slept: list[float] = []
    answers = [httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, text="ok")]
    bodies: list[dict] = []
    http = httpx.Client(
        transport=httpx.MockTransport(
            lambda r: (bodies.append(json.loads(r.content)), answers.pop(0))[1]
        )
    )
    Replier(http, None, sleep=slept.append).deliver(TARGET, [MESSAGE])
    assert slept == [3.0] and len(bodies) == 2


def test_a_used_up_url_falls_back_to_ephemeral_then_to_a_dm() -> None:
    web = FakeWeb()
    reply, _ = replier([httpx.Response(404, text="used_url")], web)
    reply.deliver(TARGET, [MESSAGE])
    assert [m for m, _ in web.calls] == ["chat_postEphemeral"]

    web = FakeWeb(fail={"chat_postEphemeral"})
    reply, _ = replier([httpx.Response(404, text="expired_url")], web)
    reply.deliver(TARGET, [MESSAGE])
    assert [m for m, _ in web.calls] == [
        "chat_postEphemeral",
        "conversations_open",
        "chat_postMessage",
    ]
    assert web.calls[-1][1]["channel"] == "D1"


def test_a_shared_reply_never_falls_back_to_private_channels_quietly() -> None:
    web = FakeWeb()
    reply, _ = replier([httpx.Response(404, text="expired_url")], web)
    with pytest.raises(ReplyFailed) as failed:
        reply.deliver(TARGET, [MESSAGE], in_channel=True)
    assert web.calls == [] and URL not in str(failed.value) and "secret" not in str(failed.value)


def test_web_api_invalid_blocks_are_retried_once_as_plain_text() -> None:
    web = FakeWeb(fail={"chat_postEphemeral"}, error="invalid_blocks", blocks_only=True)
    reply, _ = replier([], web)
    reply.deliver(ReplyTarget(channel_id="C1", user_id="U1", reply_via="ephemeral"), [MESSAGE])
    assert [m for m, _ in web.calls] == ["chat_postEphemeral", "chat_postEphemeral"]
    assert web.calls[0][1]["blocks"] and "blocks" not in web.calls[1][1]


def test_web_api_failure_names_the_code_not_the_channel_text() -> None:
    web = FakeWeb(fail={"chat_postEphemeral"}, error="not_in_channel")
    reply, _ = replier([], web)
    with pytest.raises(ReplyFailed, match="chat_postEphemeral: not_in_channel"):
        reply.deliver(ReplyTarget(channel_id="C1", user_id="U1", reply_via="ephemeral"), [MESSAGE])
    assert len(web.calls) == 1  # not_in_channel is not retried as plain text


# -- only Slack's own hosts are ever posted a reply ---------------------------------------

NOT_SLACK = [
    "https://attacker.example/commands/T1/2/secret",
    "http://hooks.slack.com/commands/T1/2/secret",  # not https
    "https://hooks.slack.com.attacker.example/commands/T1/2/secret",
    "https://hooks.slack.com@attacker.example/commands/T1/2/secret",
    "https://hooks.slack.com/commands/T1/2/secret\r\nHost: attacker.example",
    "https://hooks.slack.com/ /attacker",
    "https://hooks.slack.com/" + "x" * 600,
    "http://169.254.169.254/latest/meta-data/",
]


@pytest.mark.parametrize("url", NOT_SLACK)
def test_a_response_url_off_slacks_hosts_gets_nothing(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    web = FakeWeb()
    reply, bodies = replier([httpx.Response(200, text="ok")], web)
    target = ReplyTarget(response_url=url, channel_id="C1", user_id="U1")
    with pytest.raises(UrlNotSlack):
        reply.deliver(target, [MESSAGE])
    assert bodies == [] and web.calls == []  # no POST there, and no fallback either
    assert "refused to post a reply" in caplog.text and "attacker" not in caplog.text


def test_the_allowed_prefixes_are_a_setting() -> None:
    bodies: list[dict] = []
    http = httpx.Client(
        transport=httpx.MockTransport(
            lambda r: (bodies.append({"url": str(r.url)}), httpx.Response(200, text="ok"))[1]
        )
    )
    gov = Replier(http, None, response_url_prefixes=("https://hooks.slack-gov.com/",))
    gov.post("https://hooks.slack-gov.com/commands/T1/2/k", MESSAGE, replace_original=False)
    with pytest.raises(UrlNotSlack):
        gov.post(URL, MESSAGE, replace_original=False)  # Slack's commercial host: not here
    assert bodies == [{"url": "https://hooks.slack-gov.com/commands/T1/2/k"}]
