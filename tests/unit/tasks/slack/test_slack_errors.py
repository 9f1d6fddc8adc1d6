"""One map from a Slack failure to what it means: each category, from both shapes Slack uses."""

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from tasks.slack.errors import Category, UrlAnswer, classify


def api_error(error: str | None, status: int = 200) -> SlackApiError:
    data = {"ok": False, "error": error} if error else {"ok": False}
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="x",
        req_args={},
        data=data,
        headers={},
        status_code=status,
    )
    return SlackApiError("error", response)


@pytest.mark.parametrize(
    ("answer", "category"),
    [
        (UrlAnswer(404, "expired_url"), Category.GONE),
        (UrlAnswer(404, "used_url"), Category.GONE),
        (UrlAnswer(404, "invalid_url"), Category.GONE),
        (UrlAnswer(404, "Expired url"), Category.GONE),  # a phrase, not a code
        (UrlAnswer(410, ""), Category.GONE),
        (UrlAnswer(404, '{"ok":false,"error":"used_url"}'), Category.GONE),
        (UrlAnswer(400, "invalid_blocks"), Category.INVALID_BLOCKS),
        (UrlAnswer(400, "invalid_blocks_format"), Category.INVALID_BLOCKS),
        (UrlAnswer(429, ""), Category.RATE_LIMITED),
        (UrlAnswer(400, "channel_not_found"), Category.NOT_IN_CHANNEL),
        (UrlAnswer(0, "ConnectTimeout"), Category.TRANSIENT),
        (UrlAnswer(503, "internal_error"), Category.TRANSIENT),
        (UrlAnswer(502, "<html>Bad gateway</html>"), Category.TRANSIENT),
        (UrlAnswer(400, "no_text"), Category.OTHER),
        (UrlAnswer(400, "msg_too_long"), Category.OTHER),
        # a code is not found inside another word: "unused_url_x" is not used_url
        (UrlAnswer(400, "unused_url_x"), Category.OTHER),
    ],
)
def test_a_response_url_answer(answer: UrlAnswer, category: Category) -> None:
    assert classify(answer).category is category


@pytest.mark.parametrize(
    ("exc", "category", "code"),
    [
        (api_error("invalid_blocks"), Category.INVALID_BLOCKS, "invalid_blocks"),
        (api_error("invalid_blocks_format"), Category.INVALID_BLOCKS, "invalid_blocks_format"),
        (api_error("ratelimited", 429), Category.RATE_LIMITED, "ratelimited"),
        (api_error(None, 429), Category.RATE_LIMITED, "SlackApiError"),
        (api_error("not_in_channel"), Category.NOT_IN_CHANNEL, "not_in_channel"),
        (api_error("channel_not_found"), Category.NOT_IN_CHANNEL, "channel_not_found"),
        (api_error("internal_error", 500), Category.TRANSIENT, "internal_error"),
        (api_error("service_unavailable"), Category.TRANSIENT, "service_unavailable"),
        (ConnectionResetError(), Category.TRANSIENT, "ConnectionResetError"),
        (TimeoutError(), Category.TRANSIENT, "TimeoutError"),
        (httpx.ConnectError("refused"), Category.TRANSIENT, "ConnectError"),
        (api_error("user_not_found"), Category.OTHER, "user_not_found"),
        (api_error("invalid_auth"), Category.OTHER, "invalid_auth"),
        (api_error(None), Category.OTHER, "SlackApiError"),
        (ValueError("x"), Category.OTHER, "ValueError"),
    ],
)
def test_a_web_api_exception(exc: BaseException, category: Category, code: str) -> None:
    failure = classify(exc)
    assert (failure.category, failure.code) == (category, code)


def test_an_expired_web_api_call_is_not_gone() -> None:
    """GONE is about a response_url; a Web API 404 code means something else."""
    assert classify(api_error("not_found", 404)).category is Category.OTHER


def test_the_code_never_carries_the_url_or_a_token() -> None:
    secret = "https://hooks.slack.com/commands/T1/2/secret xoxb-123"
    exc = httpx.ConnectError(secret)
    assert secret not in classify(exc).code and "secret" not in classify(exc).code
