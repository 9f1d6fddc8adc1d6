"""Ekuaibao answering garbage: the person gets one clear reply, never a traceback or a token.

Gateways in front of Ekuaibao send HTML maintenance pages with a 200, cut bodies short, and
the API itself has changed shapes between versions. The stand-in runs in this process, so
each case wraps its `_dispatch` (monkeypatched for that test only) to rewrite one endpoint's
answer, then sends a real `/invoice` through the running bot and reads what Slack got.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from sandbox.blockkit import text_objects, validate_message
from sandbox.ekuaibao import (
    AUTH_PATH,
    DETAIL_BATCH_PATH,
    FLOW_SEARCH_PATH,
    URL_PATH,
    EkuaibaoStandIn,
    HttpRequest,
    HttpResponse,
)
from sandbox.slack import ResponsePost, SlackStandIn
from tasks.shared.texts import texts_for
from tests.integration.harness import RunningBot, start_bot

EN = texts_for("en")
MEAL = "0aM9AbvdhI0400:011001900111:07517347"
REPORT = "B23001249"
MASTER_SEARCH = "/INVOICE/object/invoice/search"
LINE = "E_system_发票明细_"
RETRYING_PREFIX = EN.retrying.split("{", 1)[0]
#: What must never reach a person: stack traces, exception class names, raw HTML, tokens.
LEAK = re.compile(
    r"Traceback|\b[A-Z][A-Za-z]*(Error|Exception)\b|InvalidOperation|MalformedPayload"
    r"|accessToken|<html|&lt;html|File \""
)

Rewrite = Callable[[HttpRequest, HttpResponse], HttpResponse]


@pytest.fixture(scope="module")
def bot(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningBot]:
    """One embedded bot; a 1 s retry window so retried garbage gives up quickly."""
    running = start_bot(
        ekuaibao,
        slack,
        tmp_path_factory.mktemp("malformed-ekuaibao"),
        broker=None,
        EKUAIBAO_RETRY_WINDOW_S="1",
    )
    yield running
    running.stop()


# -- rewriting the stand-in's answers -------------------------------------------------------


def answer_garbage(
    monkeypatch: pytest.MonkeyPatch, ekuaibao: EkuaibaoStandIn, path: str, rewrite: Rewrite
) -> None:
    """Every answer on `path` goes through `rewrite`; the stand-in still did the real work
    (tokens, call records), so only the bytes on the wire change."""
    original = ekuaibao._dispatch

    def dispatch(req: HttpRequest, body: Any) -> HttpResponse:
        response = original(req, body)
        return rewrite(req, response) if path in req.path else response

    monkeypatch.setattr(ekuaibao, "_dispatch", dispatch)


def html(status: int = 200) -> Rewrite:
    page = "<html><head><title>维护中</title></head><body><h1>系统维护中</h1></body></html>"
    return lambda req, resp: HttpResponse.text(status, page, "text/html;charset=UTF-8")


def raw(body: bytes, content_type: str = "application/json;charset=UTF-8") -> Rewrite:
    return lambda req, resp: HttpResponse(200, body, content_type)


def json_body(payload: Any) -> Rewrite:
    return lambda req, resp: HttpResponse.json(200, payload)


def truncated(req: HttpRequest, resp: HttpResponse) -> HttpResponse:
    return HttpResponse(resp.status, resp.body[: len(resp.body) // 2], resp.content_type)


def edit_items(edit: Callable[[dict[str, Any]], None]) -> Rewrite:
    """The real answer with each of its `items` edited in place."""

    def rewrite(req: HttpRequest, resp: HttpResponse) -> HttpResponse:
        data = json.loads(resp.body)
        for item in data.get("items", []):
            edit(item)
        return HttpResponse.json(resp.status, data)

    return rewrite


def set_money(key: str, standard: Any) -> Callable[[dict[str, Any]], None]:
    def edit(item: dict[str, Any]) -> None:
        item[LINE + key] = {**item.get(LINE + key, {}), "standard": standard}

    return edit


def error_page_echoing_the_request(req: HttpRequest, resp: HttpResponse) -> HttpResponse:
    """A 400 from a gateway that dumps its stack trace and the request URL, token included."""
    token = req.query.get("accessToken", "")
    page = (
        f"<html><pre>POST {req.raw_path}?accessToken={token}\n"
        "Traceback (most recent call last):\n"
        '  File "gateway.py", line 42, in handle\n'
        "KeyError: 'invoiceIds'</pre></html>"
    )
    return HttpResponse.text(400, page, "text/html;charset=UTF-8")


@dataclass(frozen=True)
class Case:
    path: str
    rewrite: Rewrite
    command: str = MEAL
    #: Runs before the command, e.g. to force a token fetch.
    prepare: Callable[[EkuaibaoStandIn], None] = field(default=lambda ekuaibao: None)


CASES: dict[str, Case] = {
    "html-200-on-detailBatch": Case(DETAIL_BATCH_PATH, html(200)),
    "html-200-on-url": Case(URL_PATH, html(200)),
    "truncated-json": Case(DETAIL_BATCH_PATH, truncated),
    "empty-200": Case(DETAIL_BATCH_PATH, raw(b"")),
    "not-utf8": Case(DETAIL_BATCH_PATH, raw(b'\xff\xfe{"items": []}')),
    "json-null": Case(URL_PATH, raw(b"null")),
    "items-is-a-string": Case(DETAIL_BATCH_PATH, json_body({"items": "x"})),
    "items-are-numbers": Case(DETAIL_BATCH_PATH, json_body({"items": [1, 2]})),
    "item-without-masterId": Case(DETAIL_BATCH_PATH, edit_items(lambda i: i.pop("masterId"))),
    "url-item-wrong-types": Case(URL_PATH, json_body({"items": [{"id": 5, "url": []}]})),
    "master-without-id": Case(MASTER_SEARCH, json_body({"count": 1, "items": [{"x": 1}]})),
    "token-html-200": Case(AUTH_PATH, html(200), prepare=lambda e: e.expire_tokens()),
    "token-value-wrong-types": Case(
        AUTH_PATH,
        json_body({"value": {"accessToken": 5, "expireTime": "soon"}}),
        prepare=lambda e: e.expire_tokens(),
    ),
    "400-page-with-traceback-and-token": Case(DETAIL_BATCH_PATH, error_page_echoing_the_request),
    "report-value-is-a-list": Case(FLOW_SEARCH_PATH, json_body({"value": []}), f"report {REPORT}"),
}


# -- reading the replies ----------------------------------------------------------------------


def text_of(post: ResponsePost) -> str:
    return json.dumps(post.body, ensure_ascii=False)


def is_retrying_note(post: ResponsePost) -> bool:
    return str(post.body.get("text", "")).startswith(RETRYING_PREFIX)


def final_posts(slack: SlackStandIn, response_url: str) -> list[ResponsePost]:
    return [p for p in slack.posts_for(response_url) if not is_retrying_note(p)]


def wait_for_final(slack: SlackStandIn, response_url: str, timeout: float) -> list[ResponsePost]:
    """Bounded: the final reply, then one short settle so a duplicate would show."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not final_posts(slack, response_url):
        time.sleep(0.05)
    if final_posts(slack, response_url):
        time.sleep(0.8)
    return final_posts(slack, response_url)


def secrets_seen(ekuaibao: EkuaibaoStandIn) -> list[str]:
    return sorted({c.query["accessToken"] for c in ekuaibao.calls if c.query.get("accessToken")})


# -- tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
def test_garbage_from_ekuaibao_ends_in_one_clear_reply(
    bot: RunningBot,
    ekuaibao: EkuaibaoStandIn,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    case = CASES[name]
    case.prepare(ekuaibao)
    answer_garbage(monkeypatch, ekuaibao, case.path, case.rewrite)
    command = bot.command(case.command)
    assert command.ack.status_code == 200 and command.ack.json()["text"].startswith(":mag:")

    finals = wait_for_final(bot.slack, command.response_url, timeout=12)
    notes = [p for p in bot.slack.posts_for(command.response_url) if is_retrying_note(p)]
    assert len(finals) == 1, f"{len(finals)} final replies; bot log tail:\n{bot.log()[-1500:]}"
    assert len(notes) <= 1
    [final] = finals
    text = text_of(final)
    print(f"{name}: {final.body.get('text')!r}")
    assert final.status == 200 and validate_message(final.body) == []
    leaks = [m.group(0) for m in LEAK.finditer(text)]
    leaks += [f"token {t[:6]}…" for t in secrets_seen(ekuaibao) if t in text]
    assert leaks == []
    assert "Ekuaibao" in text, "the person should learn that Ekuaibao, not they, failed"
    assert "try again" in text


#: Odd but usable answers: the reply still comes, as a result, not as an error.
GRACEFUL = {
    "money-standard-1e30": Case(DETAIL_BATCH_PATH, edit_items(set_money("金额", "1e30"))),
    "report-type-is-a-path": Case(
        FLOW_SEARCH_PATH,
        json_body({"value": {REPORT: [{"invoiceId": MEAL, "invoiceType": "../../x"}]}}),
        f"report {REPORT}",
    ),
}


@pytest.mark.parametrize("name", list(GRACEFUL))
def test_odd_but_usable_answers_still_give_one_result(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """A huge amount is shown to the cent; an invoice type newer than the bot loses only its
    header. Neither may leave the person at "Looking up…"."""
    case = GRACEFUL[name]
    case.prepare(ekuaibao)
    answer_garbage(monkeypatch, ekuaibao, case.path, case.rewrite)
    command = bot.command(case.command)
    finals = wait_for_final(bot.slack, command.response_url, timeout=12)
    assert len(finals) == 1
    text = text_of(finals[0])
    assert finals[0].status == 200 and validate_message(finals[0].body) == []
    assert "1 found" in text
    if name == "money-standard-1e30":
        assert "1,000,000,000,000,000,000,000,000,000,000.00" in text


#: One value that is not a number: a data error, not an outage.
NOT_NUMBERS = {
    "amount-abc": ("金额", "abc"),
    "tax-NaN": ("税额", float("nan")),
    "amount-Infinity": ("金额", "Infinity"),
    "amount-stars": ("金额", "***"),
    "amount-1e200": ("金额", "1e200"),
}


@pytest.mark.parametrize("name", list(NOT_NUMBERS))
def test_a_value_that_is_not_a_number_costs_that_field_not_the_lookup(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """The invoice is answered at once, the field shows a dash, and Ekuaibao is not asked
    again for it (before, this was ~29 minutes of retries, then an error for every id)."""
    key, standard = NOT_NUMBERS[name]
    answer_garbage(monkeypatch, ekuaibao, DETAIL_BATCH_PATH, edit_items(set_money(key, standard)))
    calls_before = sum(DETAIL_BATCH_PATH in c.path for c in ekuaibao.calls)
    command = bot.command(MEAL)
    finals = wait_for_final(bot.slack, command.response_url, timeout=12)
    assert len(finals) == 1
    [post] = finals
    assert post.status == 200 and validate_message(post.body) == []
    text = text_of(post)
    assert "1 found" in text and "try again" not in text
    assert "—" in text
    assert sum(DETAIL_BATCH_PATH in c.path for c in ekuaibao.calls) == calls_before + 1
    assert not [p for p in bot.slack.posts_for(command.response_url) if is_retrying_note(p)]


def test_absurd_but_well_typed_values_still_render_one_valid_reply(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Huge names, control characters and Slack markup in fields: shown, escaped, clipped."""

    def absurd(item: dict[str, Any]) -> None:
        item[LINE + "name"] = "名" * 50_000
        item[LINE + "规格型号"] = "a\x00b\x07c\u202e<!channel>"
        item[LINE + "税率"] = "<@U0SANDBOX> *13%*"
        item[LINE + "数量"] = "1e5"

    answer_garbage(monkeypatch, ekuaibao, DETAIL_BATCH_PATH, edit_items(absurd))
    command = bot.command(MEAL)
    finals = wait_for_final(bot.slack, command.response_url, timeout=20)
    assert len(finals) == 1
    [post] = finals
    assert post.status == 200 and validate_message(post.body) == []
    text = text_of(post)
    # mrkdwn never carries a live mention; plain_text shows it literally, where Slack
    # parses nothing
    mrkdwn = " ".join(t["text"] for t in text_objects(post.body) if t["type"] == "mrkdwn")
    assert "<!channel>" not in mrkdwn and "<@U0SANDBOX>" not in mrkdwn
    assert "&lt;!channel&gt;" in text or "<!channel>" in " ".join(
        t["text"] for t in text_objects(post.body) if t["type"] == "plain_text"
    )
