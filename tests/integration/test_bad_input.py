"""Hostile and garbled input against the RUNNING bot: it must answer, never 5xx, never crash.

Slack forwards whatever people type, and anyone can POST to the Request URL. Property-based
tests (hypothesis) send slash commands, events and interaction payloads to the real bot over
signed HTTP, and check what reaches the Ekuaibao stand-in: only id-shaped strings, at most
20 per call. One module-scoped bot on the embedded broker: parsing does not depend on the
broker, and the conftest's double run would double this file's time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import string
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sandbox.ekuaibao import DEMO_INVOICE_IDS, EkuaibaoStandIn, RecordedCall
from sandbox.slack import ApiCall, SlackStandIn
from tasks.shared.texts import texts_for
from tests.integration.harness import RunningBot, start_bot

EN = texts_for("en")
ID_SHAPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9:$_\-]*")
MAX_ID_LENGTH = 100
MAX_IDS_PER_CALL = 20
ID_FIELDS = ("invoiceIds", "invoiceId", "ids", "codeOrIds")
REPLY_METHODS = ("chat.postMessage", "chat.postEphemeral")
ACK_LIMIT_S = 3.0
MEAL = "0aM9AbvdhI0400:011001900111:07517347"

#: Modest and deterministic: the same examples every run, no example database on disk.
PROPERTY = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def bot(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningBot]:
    """Overrides the conftest's embedded+Redis `bot`: one embedded run is enough here."""
    running = start_bot(ekuaibao, slack, tmp_path_factory.mktemp("bad-input"), broker=None)
    yield running
    running.stop()


# -- helpers -------------------------------------------------------------------------------


def sign(
    secret: str, body: bytes, content_type: str, timestamp: int | None = None
) -> dict[str, str]:
    """Slack's v0 signature over the raw bytes (works for bodies that are not UTF-8, too)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
    }


def post_signed(
    bot: RunningBot, body: bytes, content_type: str = "application/x-www-form-urlencoded"
) -> tuple[httpx.Response, float]:
    """A correctly signed POST of any bytes; returns the answer and its latency in seconds."""
    started = time.perf_counter()
    response = httpx.post(
        bot.events_url, content=body, headers=sign(bot.secret, body, content_type), timeout=10
    )
    return response, time.perf_counter() - started


def interaction_body(payload: Any) -> bytes:
    raw = payload if isinstance(payload, str) else json.dumps(payload)
    return urllib.parse.urlencode({"payload": raw}).encode()


def ids_in(call: RecordedCall) -> list[tuple[str, Any]]:
    """(field, value) for every id-carrying field of one Ekuaibao call."""
    body = call.body if isinstance(call.body, dict) else {}
    return [(f, body[f]) for f in ID_FIELDS if f in body]


def id_problems(calls: list[RecordedCall]) -> list[tuple[str, str]]:
    """(kind, detail) for every id that should never have reached Ekuaibao."""
    problems = []
    for call in calls:
        where = call.path.rsplit("/", 1)[-1]
        for field, value in ids_in(call):
            if not isinstance(value, list):
                problems.append(("not a list", f"{where}: {field}={value!r}"))
                continue
            if len(value) > MAX_IDS_PER_CALL:
                problems.append(("too many ids", f"{where}: {len(value)} in {field}"))
            for item in value:
                if isinstance(item, str) and not item.isascii():
                    problems.append(("non-ASCII id", f"{where}: {field} has {item!r}"))
                elif not isinstance(item, str) or not ID_SHAPE.fullmatch(item):
                    problems.append(("malformed id", f"{where}: {field} has {item!r}"))
                elif len(item) > MAX_ID_LENGTH:
                    problems.append(
                        ("id over 100 chars", f"{where}: {field} has {len(item)} chars")
                    )
    return problems


def calls_mentioning(ekuaibao: EkuaibaoStandIn, marker: str) -> list[RecordedCall]:
    return [c for c in ekuaibao.calls if marker in json.dumps(c.body)]


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def replies_in(slack: SlackStandIn, channel: str, since: int = 0) -> list[ApiCall]:
    """Messages posted to one channel; a continuation of a long reply is not a new reply."""
    return [
        c
        for c in slack.api_calls[since:]
        if c.method in REPLY_METHODS
        and c.params.get("channel") == channel
        and c.params.get("text") != EN.continued
    ]


def is_queued(ack: dict[str, Any]) -> bool:
    """The ack promises a reply later (":mag: Looking up…" / ":mag: Report …")."""
    return str(ack.get("text", "")).startswith(":mag:")


class Findings:
    """Problems seen across all examples, each with the shortest text that caused it.

    Slow checks (waiting for replies) are collected here instead of failing inside the
    property: hypothesis would re-run a slow failure many times while shrinking it.
    """

    def __init__(self, wait_budget_s: float = 40.0) -> None:
        self.seen: dict[str, tuple[str, str]] = {}
        self._wait_until = time.monotonic() + wait_budget_s

    def record(self, problem: str, text: str, detail: str) -> None:
        if problem not in self.seen or len(text) < len(self.seen[problem][0]):
            self.seen[problem] = (text, detail)

    def wait_s(self, wanted: float) -> float:
        """At most `wanted`, and never past the whole test's budget for waiting."""
        return max(0.0, min(wanted, self._wait_until - time.monotonic()))


# -- strategies ----------------------------------------------------------------------------

ID_CHARS = string.ascii_letters + string.digits + ":$_-"
any_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)
valid_id = st.sampled_from(DEMO_INVOICE_IDS) | st.from_regex(
    r"[A-Za-z0-9][A-Za-z0-9:$_\-]{0,30}", fullmatch=True
)
#: Ids as the prose finder sees them: may start with `_`/`-` and run past 100 chars; `\d`
#: draws any Unicode digit here, as it matches any in the product's (non-ASCII) regexes.
prose_shaped_id = st.one_of(
    st.from_regex(r"[A-Za-z0-9_\-]{6,12}:\d{6,12}:\d{6,20}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_\-]{6,12}::\d{12,24}(:\d{1,3})?", fullmatch=True),
    st.from_regex(r"ID[A-Za-z0-9_$]{8,40}", fullmatch=True),
    st.from_regex(r"[_\-][A-Za-z0-9_\-]{5,10}:\d{6,12}:\d{6,20}", fullmatch=True),
    st.integers(90, 140).map(lambda n: "a" * n + ":123456:123456"),
)
#: `report <code>` as the prose finder reads it; codes may start with `_`, `$` or `-`.
prose_report = st.tuples(
    st.sampled_from(["report ", "report: ", "单据", "报销单 "]),
    st.from_regex(r"[A-Za-z0-9_$\-]{4,12}", fullmatch=True),
).map("".join)
near_id = st.text(ID_CHARS + "/.#@!|()<>`'\"", min_size=1, max_size=14)
long_id = st.integers(95, 130).map(lambda n: "A" * n)
markup = st.sampled_from(
    [
        "<@U1>",
        "<@U0SANDBOXBOT>",
        "<#C1|general>",
        "<https://x.test|link>",
        "<!here>",
        "&amp;",
        "&lt;",
        "&gt;",
        "&amp;lt;",
        "`",
        "help",
        "report",
        "report:",
        "单据",
        "报销单",
        "B23001249",
        "ID01vmXWPHarK6",
    ]
)
separator = st.sampled_from([" ", ",", ", ", "，", "、", ";", "；", "\n", "\t", "  ", ""])
wrapped_id = st.tuples(st.sampled_from(["`", "(", "<", "“", "【", "&lt;"]), valid_id).map(
    lambda t: t[0] + t[1] + {"`": "`", "(": ")", "<": ">", "“": "”", "【": "】"}.get(t[0], "&gt;")
)
token = st.one_of(valid_id, prose_shaped_id, prose_report, near_id, long_id, markup, wrapped_id)
id_soup = st.lists(st.tuples(token, separator), max_size=25).map(
    lambda parts: "".join(t + s for t, s in parts)
)
command_text = st.one_of(any_text, id_soup)

junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
non_string_junk = junk.filter(lambda v: not isinstance(v, str))


# -- slash commands --------------------------------------------------------------------------


def test_any_command_text_is_acked_and_only_ids_reach_ekuaibao(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn
) -> None:
    """Per example (shrunk on failure): a 200 ack with text within 3 s. Collected: a queued
    lookup that is never answered; any id reaching Ekuaibao that is not id-shaped, is over
    100 chars, or comes more than 20 to a call."""
    findings = Findings()

    @PROPERTY
    @given(text=command_text)
    def check(text: str) -> None:
        before = len(ekuaibao.calls)
        command = bot.command(text)
        assert command.ack.status_code == 200, (command.ack.status_code, command.ack.text[:200])
        assert command.ack_ms < ACK_LIMIT_S * 1000
        ack = command.ack.json()
        assert isinstance(ack.get("text"), str) and ack["text"].strip()
        assert "Traceback" not in command.ack.text
        if is_queued(ack):
            url = command.response_url
            if not wait_until(lambda: bool(bot.slack.posts_for(url)), findings.wait_s(10)):
                findings.record("no reply", text, ack["text"])
        for problem, detail in id_problems(ekuaibao.calls[before:]):
            findings.record(problem, text, detail)

    check()
    assert findings.seen == {}, "problem -> (shortest text, detail)"


# -- events ----------------------------------------------------------------------------------

prose = st.one_of(any_text, id_soup)
_channel_seq = iter(range(1, 10**9))


def expected_replies(text: str) -> int:
    """One reply per lookup the message asks for (ids, then each report), or one hint.

    The product answers the ids and each report separately by design (events._answer), so
    "one reply per event" only holds for events that ask for one lookup.
    """
    from bot.parsing import find_in_prose

    found = find_in_prose(text)
    return (1 if found.ids else 0) + len(found.reports) if found else 1


def envelope_event(kind: str, text: Any, channel: str) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "message" if kind == "message.im" else "app_mention",
        "channel": channel,
        "user": "U0SANDBOX",
        "text": text,
        "ts": f"{time.time():.6f}",
    }
    if kind == "message.im":
        event["channel_type"] = "im"
    return event


@pytest.mark.parametrize("kind", ["message.im", "app_mention"])
def test_any_event_text_is_acked_and_answered_once_per_lookup(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, kind: str
) -> None:
    """Per example (shrunk on failure): 200 within 3 s. Collected: replies that never come,
    ids that should not reach Ekuaibao, and (after one settle at the end) extra replies."""
    sent: dict[str, tuple[str, int, int]] = {}
    findings = Findings()

    @PROPERTY
    @given(text=prose)
    @example(text="see -abcdef:123456:123456")  # pinned: found by this property
    @example(text="report ----")
    def check(text: str) -> None:
        channel = ("D" if kind == "message.im" else "C") + f"0FUZZ{next(_channel_seq):05d}"
        since, before = len(bot.slack.api_calls), len(ekuaibao.calls)
        if kind == "app_mention":
            text = "<@U0SANDBOXBOT> " + text
        started = time.perf_counter()
        response = bot.event(envelope_event(kind, text, channel))
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, (response.status_code, response.text[:200])
        assert elapsed < ACK_LIMIT_S
        expected = expected_replies(text)
        sent[channel] = (text, expected, since)

        def answered() -> bool:
            return len(replies_in(bot.slack, channel, since)) >= expected

        if not wait_until(answered, findings.wait_s(10)):
            findings.record("missing reply", text, f"expected {expected}")
        for problem, detail in id_problems(ekuaibao.calls[before:]):
            findings.record(problem, text, detail)

    check()
    time.sleep(1.5)  # one bounded settle for late duplicates of any example
    for channel, (text, expected, since) in sent.items():
        got = len(replies_in(bot.slack, channel, since))
        if got > expected:
            findings.record("extra replies", text, f"{got} replies, expected {expected}")
    assert findings.seen == {}, "problem -> (shortest text, detail)"


@st.composite
def garbled_event(draw: st.DrawFn) -> dict[str, Any]:
    """A real envelope with fields dropped or replaced by JSON of the wrong type."""
    kind = draw(st.sampled_from(["message.im", "app_mention"]))
    event = envelope_event(kind, draw(prose), "D0GARBLED" if kind == "message.im" else "C0GARBLED")
    for key in ("channel", "user", "text", "ts", "channel_type", "thread_ts", "subtype"):
        how = draw(st.sampled_from(["keep", "drop", "junk"]))
        if how == "drop":
            event.pop(key, None)
        elif how == "junk":
            event[key] = draw(non_string_junk if key == "channel" else junk)
    envelope: dict[str, Any] = {
        "type": "event_callback",
        "team_id": "T0SANDBOX",
        "api_app_id": "A0SANDBOX",
        "event": event,
        "event_id": f"Ev{secrets.token_hex(6)}",
        "event_time": int(time.time()),
    }
    for key in ("team_id", "event", "event_id", "authorizations"):
        if draw(st.integers(0, 5)) == 0:
            envelope[key] = draw(junk)
    return envelope


def test_garbled_event_envelopes_never_get_a_5xx(bot: RunningBot) -> None:
    """A 5xx makes Slack redeliver the event up to three times, and counts against the app."""
    statuses: Counter[int] = Counter()

    @PROPERTY
    @given(envelope=garbled_event())
    def check(envelope: dict[str, Any]) -> None:
        response, elapsed = post_signed(bot, json.dumps(envelope).encode(), "application/json")
        statuses[response.status_code] += 1
        assert response.status_code < 500, (response.status_code, response.text[:200])
        assert elapsed < ACK_LIMIT_S
        assert bot.proc.poll() is None

    try:
        check()
    finally:
        print(f"garbled events: statuses seen {dict(statuses)}")


# -- interaction payloads ----------------------------------------------------------------------

ACTION_IDS = [
    "refresh_links",
    "share_in_channel",
    "get_my_links",
    "show_more",
    "open_attachment_0",
    "open_attachment_x",
    "unknown_action",
]
good_value = st.sampled_from(
    [
        json.dumps({"i": [MEAL], "u": "U0SANDBOX"}),
        json.dumps({"r": "B23001249", "p": 0, "u": "U0SANDBOX"}),
        json.dumps({"i": ["../../etc"], "u": "U0SANDBOX"}),
        json.dumps({"i": [MEAL] * 30}),
        json.dumps({"r": "B23001249", "p": 10**12, "m": -1}),
    ]
)
action_value = st.one_of(
    good_value,
    st.text(max_size=50),
    junk.map(json.dumps),
    st.integers(10_000, 200_000).map(lambda n: json.dumps({"i": ["A" * n]})),
    st.just("x" * 300_000),
    junk,
)


def mutate(draw: st.DrawFn, payload: dict[str, Any], protected: tuple[str, ...]) -> None:
    """Drop or replace keys; `protected` keys (URLs) never become strings we did not make,
    so nothing the bot might POST to can leave loopback."""
    for key in list(payload):
        how = draw(st.sampled_from(["keep", "drop", "junk"]))
        if how == "drop":
            del payload[key]
        elif how == "junk":
            payload[key] = draw(non_string_junk if key in protected else junk)


@st.composite
def garbled_block_actions(draw: st.DrawFn, slack: SlackStandIn) -> dict[str, Any]:
    action: dict[str, Any] = {
        "action_id": draw(st.sampled_from(ACTION_IDS) | st.text(max_size=30)),
        "block_id": "b",
        "type": "button",
        "value": draw(action_value),
        "action_ts": f"{time.time():.6f}",
    }
    mutate(draw, action, ())
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": draw(st.sampled_from(["U0SANDBOX", "U0OTHER", ""]))},
        "team": {"id": "T0SANDBOX"},
        "api_app_id": "A0SANDBOX",
        "trigger_id": "1.2.3",
        "response_url": slack.new_response_url(),
        "container": {"type": "message", "message_ts": f"{time.time():.6f}", "is_ephemeral": True},
        "channel": {"id": "C0SANDBOX"},
        "actions": draw(st.sampled_from([[action], [action, action], []])),
    }
    mutate(draw, payload, ("response_url", "type"))
    return payload


@st.composite
def garbled_message_action(draw: st.DrawFn, slack: SlackStandIn) -> dict[str, Any]:
    message = {"type": "message", "ts": "1.1", "text": draw(prose), "attachments": draw(junk)}
    mutate(draw, message, ())
    payload: dict[str, Any] = {
        "type": "message_action",
        "callback_id": draw(st.sampled_from(["lookup_invoices", "other"]) | st.text(max_size=10)),
        "trigger_id": "1.2.3",
        "action_ts": f"{time.time():.6f}",
        "team": {"id": "T0SANDBOX"},
        "user": {"id": "U0SANDBOX"},
        "channel": {"id": "C0SANDBOX"},
        "message": message,
        "response_url": slack.new_response_url(),
    }
    mutate(draw, payload, ("response_url", "type"))
    return payload


def assert_interactions_survive(
    bot: RunningBot, payloads: st.SearchStrategy[Any], name: str
) -> None:
    statuses: Counter[int] = Counter()

    @PROPERTY
    @given(payload=payloads)
    def check(payload: Any) -> None:
        response, elapsed = post_signed(bot, interaction_body(payload))
        statuses[response.status_code] += 1
        assert response.status_code < 500, (response.status_code, response.text[:200])
        assert elapsed < ACK_LIMIT_S
        assert bot.proc.poll() is None

    try:
        check()
    finally:
        print(f"{name}: statuses seen {dict(statuses)}")


def test_garbled_block_actions_never_get_a_5xx(bot: RunningBot) -> None:
    """404 "unhandled request" from Bolt is fine for unknown action_ids; a 5xx is not."""
    assert_interactions_survive(bot, garbled_block_actions(bot.slack), "block_actions")


def test_garbled_message_actions_never_get_a_5xx(bot: RunningBot) -> None:
    assert_interactions_survive(bot, garbled_message_action(bot.slack), "message_action")


def test_payloads_that_are_not_json_objects_never_get_a_5xx(bot: RunningBot) -> None:
    """`payload=` holding non-JSON, a bare string, a list, a number…"""
    not_an_object = st.one_of(
        any_text, junk.filter(lambda v: not isinstance(v, dict)).map(json.dumps)
    )
    assert_interactions_survive(bot, not_an_object, "non-object payloads")


# -- plain examples ------------------------------------------------------------------------------


def command_form(text: str, response_url: str, **extra: str) -> dict[str, str]:
    """The fields Slack sends with `/invoice` (as sandbox.signing builds them)."""
    form = {
        "team_id": "T0SANDBOX",
        "channel_id": "C0SANDBOX",
        "user_id": "U0SANDBOX",
        "command": "/invoice",
        "text": text,
        "api_app_id": "A0SANDBOX",
        "response_url": response_url,
        "trigger_id": "1.2.3",
    }
    return {**form, **extra}


def encoded(form: dict[str, str]) -> bytes:
    return urllib.parse.urlencode(form).encode()


def assert_nothing_happened(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, marker: str, *response_urls: str
) -> None:
    """Bounded: give a wrongly queued lookup 2 s to show itself at Ekuaibao or Slack."""

    def something_happened() -> bool:
        posted = any(bot.slack.posts_for(url) for url in response_urls)
        return posted or bool(calls_mentioning(ekuaibao, marker))

    assert not wait_until(something_happened, 2.0)


def marker_id() -> str:
    """A valid, unique id: if it ever reaches Ekuaibao, the request was wrongly queued."""
    return f"ZZMARK{secrets.token_hex(4)}"


def test_an_oversized_body_is_refused_and_nothing_is_queued(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn
) -> None:
    marker, url = marker_id(), bot.slack.new_response_url()
    form = command_form(marker, url, channel_name="x" * (1024 * 1024 + 1))
    response, _ = post_signed(bot, encoded(form))
    assert response.status_code == 413
    assert_nothing_happened(bot, ekuaibao, marker, url)


def test_invalid_utf8_in_a_signed_form_body_is_a_4xx(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn
) -> None:
    marker, url = marker_id(), bot.slack.new_response_url()
    body = encoded(command_form(marker, url)).replace(b"text=", b"text=\xff\xfe", 1)
    response, _ = post_signed(bot, body)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:200])
    assert_nothing_happened(bot, ekuaibao, marker, url)


def test_percent_encoded_invalid_utf8_is_refused_as_malformed(bot: RunningBot) -> None:
    body = encoded(command_form("x", bot.slack.new_response_url()))
    response, _ = post_signed(bot, body.replace(b"text=x", b"text=%ff%fe"))
    assert response.status_code == 200
    assert "didn't look anything up" in response.json()["text"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "multipart/form-data"])
def test_a_wrong_content_type_is_never_a_5xx(bot: RunningBot, content_type: str) -> None:
    """Slack always sends commands form-encoded; anything else must not be a 5xx (a 5xx on an
    event makes Slack retry it). Lenient parsing (a 200) is tolerated and printed."""
    body = encoded(command_form(MEAL, bot.slack.new_response_url()))
    response, _ = post_signed(bot, body, content_type)
    print(f"{content_type}: {response.status_code} {response.text[:100]!r}")
    assert response.status_code < 500, (response.status_code, response.text[:200])


def test_missing_signature_headers_are_401(bot: RunningBot, ekuaibao: EkuaibaoStandIn) -> None:
    marker = marker_id()
    partial_headers = [
        {},
        {"X-Slack-Request-Timestamp": str(int(time.time()))},
        {"X-Slack-Signature": "v0=" + "0" * 64},
    ]
    urls = []
    for headers in partial_headers:
        urls.append(bot.slack.new_response_url())
        response = httpx.post(
            bot.events_url,
            content=encoded(command_form(marker, urls[-1])),
            headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
            timeout=10,
        )
        assert response.status_code == 401, headers
    assert_nothing_happened(bot, ekuaibao, marker, *urls)


def test_forged_stale_and_future_signatures_are_401(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn
) -> None:
    marker = marker_id()
    forged = bot.command(marker, secret="not-the-signing-secret")
    stale = bot.command(marker, timestamp=int(time.time()) - 301)
    # int() drops up to a second, which Bolt's clock then gains: 302 stays past 300
    future = bot.command(marker, timestamp=int(time.time()) + 302)
    assert [c.ack.status_code for c in (forged, stale, future)] == [401, 401, 401]
    assert_nothing_happened(
        bot, ekuaibao, marker, *(c.response_url for c in (forged, stale, future))
    )


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_on_the_events_path_are_404_or_405(bot: RunningBot, method: str) -> None:
    response = httpx.request(method, bot.events_url, timeout=10)
    assert response.status_code in (404, 405)


def test_the_bot_is_still_running(bot: RunningBot) -> None:
    assert bot.proc.poll() is None
    assert httpx.get(f"http://127.0.0.1:{bot.port}/healthz", timeout=5).status_code == 200
