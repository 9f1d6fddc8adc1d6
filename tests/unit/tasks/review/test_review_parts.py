"""The review's pure parts, without a bot."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.ekuaibao_events import with_events
from bot.listeners.review import asks_for_review
from tasks.contracts import ReviewEvent
from tasks.ekuaibao.approval_models import Flow, Stage, parse_flow, parse_stages
from tasks.ekuaibao.masters import InvoiceMaster, ReportInfo
from tasks.redact import redact
from tasks.settings import Settings
from tasks.shared import review_texts
from tasks.shared.review_texts import ReviewTexts, review_texts_for
from tasks.shared.texts import EN
from tasks.slack import review_card as card
from tasks.slack.checks import Checks
from tasks.summary import InvoiceSummary

FIELDS = [f.name for f in dataclasses.fields(ReviewTexts)]


def test_review_texts_follow_the_language() -> None:
    assert (
        review_texts_for("zh-CN") is review_texts.ZH and review_texts_for(None) is review_texts.EN
    )


def test_review_words() -> None:
    for word in ("review", "Review", " 待审批 ", "review?"):
        assert asks_for_review(word)
    for word in ("review B23001249", "ID01xO4jZjprrx", "", None):
        assert not asks_for_review(word)


def test_the_events_token_is_long_and_redacted() -> None:
    with pytest.raises(ValueError, match="24 characters"):
        Settings(_env_file=None, ekuaibao_events_token="short")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="letters, digits"):
        Settings(_env_file=None, ekuaibao_events_token="a/b" * 10)  # type: ignore[call-arg]
    token = "k" * 30
    settings = Settings(_env_file=None, ekuaibao_events_token=token)  # type: ignore[call-arg]
    assert token not in repr(settings)
    line = f"POST /ekuaibao/events/{token} 204; link https://x/applet/thirdparty.html?code=abc"
    assert token not in redact(line) and "code=abc" not in redact(line)


# -- the endpoint as a WSGI app -------------------------------------------------------------


def _call(app: Any, path: str, body: bytes, ctype: str = "application/json") -> tuple[str, bytes]:
    seen: dict[str, str] = {}

    def start(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"] = status

    environ = {
        "PATH_INFO": path,
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": ctype,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    answer = b"".join(app(environ, start))
    return seen["status"], answer


def test_the_endpoint_queues_only_for_the_right_token() -> None:
    queued: list[Any] = []

    def inner(environ: Any, start: Any) -> Iterator[bytes]:
        start("404 Not Found", [])
        return iter([b"Not Found"])

    app = with_events(inner, "t" * 24, queued.append)
    body = json.dumps({"flowId": "ID1"}).encode()
    status, _ = _call(app, "/ekuaibao/events/" + "t" * 23 + "u", body)
    assert status.startswith("404") and not queued
    status, answer = _call(app, "/ekuaibao/events/" + "t" * 24, body)
    assert status.startswith("204") and answer == b""
    assert queued == [ReviewEvent(payload={"flowId": "ID1"}, received_at=queued[0].received_at)]
    assert _call(app, "/ekuaibao/events/" + "t" * 24, b"nope")[0].startswith("400")
    assert _call(app, "/ekuaibao/events/" + "t" * 24, body, "text/plain")[0].startswith("415")


# -- parsing and rendering ---------------------------------------------------------------------


def _flow(**changes: Any) -> Flow:
    base = Flow(
        "ID1", "B1", "差旅<1>", "approving", "expense", "c:s", "d", "sp", 1700000000000,
        Decimal("300.00"), "CNY", 1700000001000, ("i1", "i2"), "", "", "", {},
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


def _invoice(invoice_id: str, total: str, verified: bool, flow_id: str) -> InvoiceSummary:
    report = ReportInfo(
        flow_id=flow_id, code=None, title=None, state=None, submitter_id=None,
        submitted_ms=None, expense_total=None,
    )  # fmt: skip
    master = InvoiceMaster(
        invoice_id=invoice_id, object_id="invoice", code="1", number="2", issued_ms=None,
        category=None, seller="S", buyer="B", verified=verified, total=Decimal(total),
        report=report,
    )  # fmt: skip
    return InvoiceSummary(invoice_id, (), (), master)


def test_checks_count_what_an_approver_looks_for() -> None:
    invoices = [
        _invoice("a:1:1", "100.00", True, "ID1"),
        _invoice("a:1:2", "150.00", False, "ID1"),
        _invoice("a:1:3", "50.00", True, "ID_OTHER"),  # already used on another report
    ]
    checks = Checks.of("ID1", invoices, EN)
    assert checks == Checks(Decimal("300.00"), 1, 0, 1)


def test_parsers_read_the_documented_samples() -> None:
    sample = json.loads(
        (Path(__file__).parents[4] / "sandbox/data/flow-details.response.json").read_text("utf-8")
    )
    flow = parse_flow(sample)
    assert (flow.code, flow.state, flow.form_type) == ("B20000001", "rejected", "expense")
    assert flow.amount is not None and flow.submitted_ms == 1592289361103
    states = parse_stages(
        {"items": [{"flowId": "F", "stageName": "出纳支付", "operators": [{"id": "a:b"}]}]}
    )
    assert states["F"].has("a:b") and not states["F"].has("a:c")


def test_moved_on_has_no_buttons_and_escapes() -> None:
    stage = Stage("ID1", "财务<审批>", (("x:y", "n"),))
    message = card.moved_on("B1", "a<b>", review_texts.EN.outcome_approved, stage, review_texts.EN)
    text = json.dumps(message, ensure_ascii=False)
    assert "a&lt;b&gt;" in text and "财务&lt;审批&gt;" in text and "button" not in text
