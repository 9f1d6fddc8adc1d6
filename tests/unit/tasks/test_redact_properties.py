"""`redact` for every secret form we know, in any letter case and encoding; plain text
untouched; and linear time on long, hostile lines."""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.redact import redact

#: Query parameters and JSON keys whose value is a secret: Aliyun OSS (V1 and V4) and S3
#: signed URLs, Ekuaibao's tokens and credentials, Socket Mode's ticket.
SECRET_NAMES = [
    "Signature",
    "OSSAccessKeyId",
    "security-token",
    "x-oss-signature",
    "x-oss-credential",
    "x-oss-security-token",
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "token",
    "access_token",
    "accessToken",
    "refresh_token",
    "refreshToken",
    "appKey",
    "appSecurity",
    "appSecret",
    "signKey",
    "ticket",
]
#: Each way a `name=value` pair reaches a log line.
PAIR_FORMS: dict[str, Callable[[str, str], str]] = {
    "query": lambda n, v: f"GET https://files-dd.ekuaibao.com/a.pdf?Expires=1&{n}={v}&x=1 ok",
    "query end": lambda n, v: f"url=https://ekuaibao.oss-cn-hangzhou.aliyuncs.com/x?{n}={v}",
    "json": lambda n, v: json.dumps({"body": {n: v, "other": 1}}),
    "repr": lambda n, v: repr({n: v}),
    "kwargs": lambda n, v: f"refresh({n}='{v}', powerCode=219904)",
    "percent-encoded": lambda n, v: (
        "url=" + urllib.parse.quote(f"https://h.example/a?{n}={v}&b=2", safe="") + "&next=1"
    ),
    "json-escaped": lambda n, v: json.dumps({"u": f"https://h.example/a?{n}={v}"}).replace(
        "/", "\\/"
    ),
    "json in json": lambda n, v: json.dumps({"message": json.dumps({n: v})}),
}
#: Secrets that are not a name=value pair.
WHOLE_FORMS: dict[str, Callable[[str], str]] = {
    "bearer": lambda v: f"Authorization: Bearer {v}",
    "response_url": lambda v: f"posting to https://hooks.slack.com/commands/T1/22/{v} failed",
    "actions url": lambda v: f'{{"response_url": "https://hooks.slack.com/actions/T1/22/{v}"}}',
    "escaped url": lambda v: f'"https:\\/\\/hooks.slack.com\\/commands\\/T1\\/22\\/{v}"',
    "encoded url": lambda v: (
        "response_url="
        + urllib.parse.quote(f"https://hooks.slack.com/commands/T1/22/{v}", safe="")
        + "&x=1"
    ),
    "events path": lambda v: f"POST /ekuaibao/events/{v} 204",
    "escaped events path": lambda v: f'"path": "\\/ekuaibao\\/events\\/{v}"',
    "deep link": lambda v: f"https://app.ekuaibao.com/applet/thirdparty.html?accessToken={v}&x=1",
}
#: URL-safe characters, and the percent-escapes a base64 signature carries.
SECRET = st.lists(
    st.sampled_from([*"ABCxyz019-._~:$", "%2B", "%2F", "%3D"]), min_size=8, max_size=40
).map("".join)
#: Slack's tokens: letters, digits and dashes.
SLACK_TOKEN = st.text(alphabet="ABCxyz019-", min_size=8, max_size=40)
TOKEN_FORMS: dict[str, Callable[[str], str]] = {
    "bot token": lambda v: f"auth xoxb-{v} failed",
    "user token": lambda v: f"'xoxp-{v}'",
    "app token": lambda v: f"token xapp-1-{v}",
}
REDACTED_MARKS = "[redacted] [response_url redacted] xox?-[redacted] xapp-[redacted]"


def any_case(word: str, flips: list[bool]) -> str:
    return "".join(c.swapcase() if flip else c for c, flip in zip(word, flips, strict=False))


def assert_no_part_of(secret: str, line: str, cleaned: str) -> None:
    """No 6-character piece of the secret, as written in the line, survives (unless the
    rest of the line or our own marks hold that piece anyway)."""
    written = next(w for w in (secret, urllib.parse.quote(secret, safe="")) if w in line)
    context = line.replace(written, " ") + REDACTED_MARKS
    for start in range(len(written) - 5):
        piece = written[start : start + 6]
        assert piece not in cleaned or piece in context, (line, cleaned)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(SECRET_NAMES),
    flips=st.lists(st.booleans(), min_size=25, max_size=25),
    form=st.sampled_from(sorted(PAIR_FORMS)),
    secret=SECRET,
)
def test_no_part_of_a_secret_value_survives(
    name: str, flips: list[bool], form: str, secret: str
) -> None:
    line = PAIR_FORMS[form](any_case(name, flips), secret)
    assert_no_part_of(secret, line, redact(line))


@settings(max_examples=300)
@given(
    form_and_secret=st.one_of(
        st.tuples(st.sampled_from(sorted(WHOLE_FORMS)), SECRET),
        st.tuples(st.sampled_from(sorted(TOKEN_FORMS)), SLACK_TOKEN),
    ),
    upper=st.booleans(),
)
def test_no_part_of_a_token_or_response_url_survives(
    form_and_secret: tuple[str, str], upper: bool
) -> None:
    form, secret = form_and_secret
    line = {**WHOLE_FORMS, **TOKEN_FORMS}[form](secret)
    line = line.upper() if upper else line
    secret = secret.upper() if upper else secret
    assert_no_part_of(secret, line, redact(line))


#: Near misses: names that are not secrets, words that start a secret's name, our own lines.
HARMLESS = [
    "Expires=1700000000",
    "x-oss-date=20240101T000000Z",
    "x-oss-signature-version=OSS4-HMAC-SHA256",
    "x-oss-expires=3600",
    "X-Amz-SignedHeaders=host",
    "X-Amz-Date=20240101T000000Z",
    "x-oss-process=image/crop,x_1",
    "powerCode=219904",
    "the token expired",
    "tokens left 3",
    "signature check failed",
    "Slack bot token: refused",
    "SLACK_BOT_TOKEN: invalid: Value error",
    "ticket_types cached",
    "credentials come from 合思+",
    "https://app.ekuaibao.com/api/openapi/v2/flow/INVOICE/search",
    "lookup 0de0 attempt 2",
    "ids=ID01xO4jZjprrx",
    "report B23001249",
    "user=U0SANDBOX channel=C0SANDBOX",
    "Events of group task enabled",
    "commands and actions",
    "hooks",
    "发票 djg8:1:2",
    '{"path": "\\/api\\/openapi\\/v2"}',  # JSON's escaped slashes stay as written
]
FILLER = st.text(alphabet=" 0123456789.,!?发票审批", max_size=12)


@given(st.lists(st.tuples(st.sampled_from(HARMLESS), FILLER), min_size=1, max_size=8))
def test_text_without_secrets_passes_through_unchanged(parts: list[tuple[str, str]]) -> None:
    line = "".join(fragment + filler for fragment, filler in parts)
    assert redact(line) == line


#: Lines built to make a backtracking pattern retry its match from every position.
HOSTILE: dict[str, Callable[[int], str]] = {
    "urls": lambda n: "http://" * (n // 7),
    "one long url": lambda n: "https://a/" + "b/" * (n // 2),
    "url words": lambda n: "https://x/commands" * (n // 18),
    "names": lambda n: "token" * (n // 5),
    "names and equals": lambda n: "token=" * (n // 6),
    "separators": lambda n: "Signature" + " " * n + "x",
    "quotes": lambda n: "token" + "\\'" * (n // 2),
    "prefixes": lambda n: "x-oss-" * (n // 6),
    "escaped slashes": lambda n: "\\/" * (n // 2) + "commands",
    "encoded": lambda n: "https%3A%2F%2F" + "%3D" * (n // 3),
    "events": lambda n: "/ekuaibao/events/" * (n // 17),
    "bearer": lambda n: "bearer " * (n // 7),
    "slack tokens": lambda n: "xoxb-" * (n // 5),
}


def _seconds(text: str) -> float:
    """CPU seconds of this thread, best of five: a machine busy with other work (the suite
    runs in parallel) preempts the test, which wall time would count."""
    best = float("inf")
    for _ in range(5):
        started = time.thread_time()
        redact(text)
        best = min(best, time.thread_time() - started)
    return best


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_redaction_is_linear_on_40k_character_lines(kind: str) -> None:
    """Ten times the line costs about ten times the time (a quadratic pattern: a hundred)."""
    short, long = _seconds(HOSTILE[kind](4_000)), _seconds(HOSTILE[kind](40_000))
    assert long < 0.25, f"{long:.3f} s for 40k characters"
    assert long < 30 * short + 0.005, f"4k: {short:.5f} s, 40k: {long:.5f} s"
