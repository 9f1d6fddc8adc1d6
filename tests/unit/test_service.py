"""The lookup service with fake client and replier: every path ends in one reply or a retry."""

from decimal import Decimal
from typing import Any

import pytest

from tasks.contracts import LookupRequest
from tasks.ekuaibao.client import InvoiceData
from tasks.ekuaibao.errors import BadRequest, CredentialsRejected, RateLimited, Unavailable
from tasks.ekuaibao.models import LineItem
from tasks.reply import ReplyFailed
from tasks.service import Deps, RetryPolicy, handle_lookup
from tasks.texts import EN

pytestmark = pytest.mark.no_net
NOW = 1_700_000_000.0


class FakeClient:
    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    def lookup(self, ids: Any) -> InvoiceData:
        self.calls += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


class FakeReplier:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[list[dict[str, Any]]] = []
        self.fail = fail

    def send_all(self, url: str, messages: list[dict[str, Any]]) -> None:
        if self.fail:
            raise ReplyFailed("Slack answered HTTP 404")
        self.sent.append(list(messages))


def deps(client: FakeClient, replier: FakeReplier, now: float = NOW) -> Deps:
    return Deps(
        client=client,
        replier=replier,
        texts=EN,  # type: ignore[arg-type]
        retry=RetryPolicy(base_s=2, window_s=25 * 60),
        clock=lambda: now,
    )


def request(received_at: float = NOW) -> LookupRequest:
    return LookupRequest(
        ids=("c:1:2", "gone:3:4"), response_url="http://127.0.0.1:9/r", received_at=received_at
    )


def data() -> InvoiceData:
    item = LineItem(
        id="L",
        invoice_id="c:1:2",
        name="n",
        spec=None,
        quantity=None,
        unit_price=None,
        amount=Decimal("10.00"),
        tax_rate="6%",
        tax=Decimal("0.60"),
    )
    return InvoiceData((item,), (), NOW)


def test_success_replies_once_with_the_result() -> None:
    replier = FakeReplier()
    assert handle_lookup(request(), deps(FakeClient(data()), replier)) is None
    assert len(replier.sent) == 1
    text = str(replier.sent[0])
    assert "¥10.60" in text and "gone:3:4" in text


def test_transient_failure_asks_for_a_retry_and_says_it_is_still_trying() -> None:
    replier = FakeReplier()
    delay = handle_lookup(request(), deps(FakeClient(Unavailable("502")), replier), attempt=0)
    assert delay is not None and 1 <= delay <= 2
    assert len(replier.sent) == 1 and "keep trying" in replier.sent[0][0]["text"]
    delay = handle_lookup(request(), deps(FakeClient(Unavailable("502")), replier), attempt=3)
    assert delay is not None and 8 <= delay <= 16
    assert len(replier.sent) == 1  # the progress note is posted once only


def test_rate_limit_waits_at_least_as_long_as_asked() -> None:
    delay = handle_lookup(request(), deps(FakeClient(RateLimited(120)), FakeReplier()), attempt=0)
    assert delay == 120


def test_gives_up_inside_the_response_url_lifetime_with_a_clear_error() -> None:
    replier = FakeReplier()
    late = NOW + 25 * 60 - 1
    assert (
        handle_lookup(request(), deps(FakeClient(Unavailable("timeout")), replier, late), 9) is None
    )
    assert len(replier.sent) == 1
    text = replier.sent[0][0]["text"]
    assert "didn't answer" in text and "try again later" in text and "Traceback" not in text


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (CredentialsRejected("x"), "credentials were rejected — ask your admin"),
        (BadRequest(400, "参数错误"), "refused the lookup: 参数错误"),
        (KeyError("boom"), "went wrong on my side"),
    ],
)
def test_permanent_failures_reply_once_with_what_to_do(error: Exception, words: str) -> None:
    replier = FakeReplier()
    assert handle_lookup(request(), deps(FakeClient(error), replier)) is None
    assert len(replier.sent) == 1 and words in replier.sent[0][0]["text"]
    assert "boom" not in replier.sent[0][0]["text"]


def test_a_reply_that_cannot_be_delivered_is_logged_not_raised(caplog) -> None:
    assert handle_lookup(request(), deps(FakeClient(data()), FakeReplier(fail=True))) is None
    assert "could not deliver the reply" in caplog.text
    assert "127.0.0.1:9/r" not in caplog.text
