"""The lookup service with fake client and replier: every path ends in one reply or a retry."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from tasks.contracts import LookupRequest, ReplyTarget
from tasks.ekuaibao.errors import BadRequest, CredentialsRejected, RateLimited, Unavailable
from tasks.ekuaibao.masters import ReportInvoiceRef
from tasks.ekuaibao.models import LineItem
from tasks.lookup.deps import Deps, RetryPolicy
from tasks.lookup.service import handle_lookup
from tasks.shared.language import LanguagePicker
from tasks.slack.replies import ReplyFailed
from tasks.state.report_cache import MemoryReportCache

NOW = 1_700_000_000.0
LINE = LineItem(
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


class FakeClient:
    """Answers like Ekuaibao would, or raises `error` on every call."""

    def __init__(self, error: Exception | None = None, reports: dict | None = None) -> None:
        self.error = error
        self.reports = reports or {}
        self.calls: list[str] = []

    def _maybe_fail(self, name: str) -> None:
        self.calls.append(name)
        if self.error is not None:
            raise self.error

    def line_items(self, ids: Any) -> list[LineItem]:
        self._maybe_fail("line_items")
        return [LINE] if "c:1:2" in ids else []

    def attachments(self, ids: Any, fetched_at: float | None = None) -> list:
        self._maybe_fail("attachments")
        return []

    def invoice_masters(self, object_id: str, ids: Any) -> list:
        self._maybe_fail(f"masters:{object_id}")
        return []

    def report_invoices(self, kind: str, values: Any) -> dict:
        self._maybe_fail(f"report:{kind}")
        return {v: self.reports[v] for v in values if v in self.reports and kind == "code"}


class FakeReplier:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[list[dict[str, Any]], bool]] = []
        self.reactions: list[tuple[str | None, str | None]] = []
        self.fail = fail

    def deliver(
        self, target: ReplyTarget, messages: list[dict[str, Any]], *, in_channel: bool = False
    ) -> None:
        if self.fail:
            raise ReplyFailed("Slack answered HTTP 404")
        self.sent.append((list(messages), in_channel))

    def react(self, target: ReplyTarget, add: str | None = None, remove: str | None = None) -> None:
        self.reactions.append((add, remove))


def deps(client: FakeClient, replier: FakeReplier, now: float = NOW) -> Deps:
    return Deps(
        client=client,
        replier=replier,  # type: ignore[arg-type]
        executor=ThreadPoolExecutor(4),
        language=LanguagePicker("en", None),
        retry=RetryPolicy(base_s=2, window_s=25 * 60),
        clock=lambda: now,
    )


def request(**kw: Any) -> LookupRequest:
    fields: dict[str, Any] = dict(
        ids=("c:1:2", "gone:3:4"),
        response_url="http://127.0.0.1:9/r",
        received_at=NOW,
        user_id="U1",
    )
    fields.update(kw)
    return LookupRequest(**fields)


def texts_of(replier: FakeReplier) -> str:
    return str([m for messages, _ in replier.sent for m in messages])


def test_success_replies_once_with_the_result() -> None:
    replier = FakeReplier()
    assert handle_lookup(request(), deps(FakeClient(), replier)) is None
    assert len(replier.sent) == 1
    assert "¥10.60" in texts_of(replier) and "gone:3:4" in texts_of(replier)


def test_a_report_page_looks_up_its_invoices_by_type() -> None:
    refs = [
        ReportInvoiceRef(invoice_id="c:1:2", item_ids=("a",), invoice_type="invoice"),
        ReportInvoiceRef(invoice_id="T1", item_ids=(), invoice_type="taxi"),
    ]
    client = FakeClient(reports={"B23001249": refs})
    replier = FakeReplier()
    assert handle_lookup(request(ids=(), report="B23001249"), deps(client, replier)) is None
    assert "report:code" in client.calls and "masters:taxi" in client.calls
    assert "Report B23001249" in texts_of(replier)


def test_an_unknown_report_says_so() -> None:
    replier = FakeReplier()
    handle_lookup(request(ids=(), report="B00000000"), deps(FakeClient(), replier))
    assert "No report `B00000000`" in texts_of(replier)


def test_share_mode_posts_in_channel_without_links() -> None:
    replier = FakeReplier()
    handle_lookup(request(mode="share"), deps(FakeClient(), replier))
    [(messages, in_channel)] = replier.sent
    assert in_channel and "get_my_links" in str(messages) and "refresh_links" not in str(messages)


def test_transient_failure_asks_for_a_retry_and_says_it_is_still_trying() -> None:
    replier = FakeReplier()
    delay = handle_lookup(request(), deps(FakeClient(Unavailable("502")), replier), attempt=0)
    assert delay is not None and 1 <= delay <= 2
    assert len(replier.sent) == 1 and "keep trying" in texts_of(replier)
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
    text = texts_of(replier)
    assert "didn't answer" in text and "try again later" in text and "Traceback" not in text
    assert replier.reactions[-1] == ("x", "eyes")


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
    assert len(replier.sent) == 1 and words in texts_of(replier)
    assert "boom" not in texts_of(replier)


def test_a_reply_that_cannot_be_delivered_is_logged_not_raised(caplog) -> None:
    replier = FakeReplier(fail=True)
    assert handle_lookup(request(), deps(FakeClient(), replier)) is None
    assert "could not deliver the reply" in caplog.text
    assert "127.0.0.1:9/r" not in caplog.text
    assert replier.reactions[-1] == ("x", "eyes")


class RecordingClient(FakeClient):
    """Records the ids of each line-item call; the report search can be held back."""

    def __init__(self, reports: dict) -> None:
        super().__init__(reports=reports)
        self.line_calls: list[list[str]] = []
        self.search_may_answer = threading.Event()
        self.search_may_answer.set()

    def line_items(self, ids: Any) -> list[LineItem]:
        self.line_calls.append(list(ids))
        return super().line_items(ids)

    def report_invoices(self, kind: str, values: Any) -> dict:
        assert self.search_may_answer.wait(5)
        return super().report_invoices(kind, values)


def ref(invoice_id: str) -> ReportInvoiceRef:
    return ReportInvoiceRef(invoice_id=invoice_id, item_ids=(), invoice_type="invoice")


def test_a_report_seen_lately_has_its_invoices_fetched_during_the_search() -> None:
    client = RecordingClient({"B23001249": [ref("c:1:2")]})
    replier = FakeReplier()
    d = deps(client, replier)
    d.reports = MemoryReportCache()
    handle_lookup(request(ids=(), report="B23001249"), d)  # first look: search, then fetch
    assert client.line_calls == [["c:1:2"]]
    client.search_may_answer.clear()
    done = threading.Thread(target=handle_lookup, args=(request(ids=(), report="B23001249"), d))
    done.start()
    deadline = time.monotonic() + 5
    while len(client.line_calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert client.line_calls == [["c:1:2"], ["c:1:2"]]  # while the search is still out
    client.search_may_answer.set()
    done.join(5)
    assert len(replier.sent) == 2 and texts_of(replier).count("¥10.60*") == 2
    assert len(client.line_calls) == 2  # unchanged report: nothing fetched twice


def test_a_report_that_changed_since_is_shown_as_it_is_now() -> None:
    client = RecordingClient({"B23001249": [ref("c:1:2")]})
    replier = FakeReplier()
    d = deps(client, replier)
    d.reports = MemoryReportCache()
    handle_lookup(request(ids=(), report="B23001249"), d)
    client.reports["B23001249"] = [ref("c:5:6")]  # the submitter swapped the invoice
    handle_lookup(request(ids=(), report="B23001249"), d)
    assert client.line_calls[-1] == ["c:5:6"]
    last = str(replier.sent[-1][0])
    assert "5:6" in last or "c:5:6" in last
    assert "10.60" not in last  # the old invoice's lines are not shown


def test_a_report_cache_that_fails_only_costs_speed() -> None:
    class Broken:
        def get(self, report: str) -> None:
            raise ConnectionError("redis down")

        def put(self, report: str, refs: Any) -> None:
            raise ConnectionError("redis down")

    client = RecordingClient({"B23001249": [ref("c:1:2")]})
    replier = FakeReplier()
    d = deps(client, replier)
    d.reports = Broken()  # type: ignore[assignment]
    assert handle_lookup(request(ids=(), report="B23001249"), d) is None
    assert "10.60" in texts_of(replier)


def test_a_spent_budget_says_how_many_are_ahead_never_that_ekuaibao_is_slow() -> None:
    from tasks.ekuaibao.errors import BudgetSpent

    replier = FakeReplier()
    delay = handle_lookup(request(), deps(FakeClient(BudgetSpent(50.0, 17)), replier))
    assert delay is not None and delay >= 50.0 - 30.0 / 2  # back when a slot is in reach
    said = texts_of(replier)
    assert "17 ahead of yours" in said and "slow" not in said
    assert len(replier.sent) == 1


class WaitingClient(FakeClient):
    """Every call waits in the budget's line, as the rate-limited transport would."""

    def __init__(self, wait_s: float, ahead: int) -> None:
        super().__init__()
        self.wait_s, self.ahead = wait_s, ahead

    def _maybe_fail(self, name: str) -> None:
        from tasks.ekuaibao import budget

        super()._maybe_fail(name)
        who = budget.waiting.get()
        assert who is not None, f"{name} ran outside its lookup's context"
        if self.wait_s > budget.TELL_AFTER_S:
            who.tell(self.wait_s, self.ahead)


def test_a_long_wait_for_the_budget_is_told_once_then_answered() -> None:
    replier = FakeReplier()
    client = WaitingClient(12.0, 9)
    assert handle_lookup(request(), deps(client, replier)) is None
    assert len(client.calls) == 3  # lines, links and masters each waited (on pool threads too)
    notes = [str(messages) for messages, _ in replier.sent]
    assert len(notes) == 2 and "9 ahead of yours" in notes[0] and "about 12 s" in notes[0]
    assert "1 found" in notes[1]


def test_a_short_wait_for_the_budget_is_not_told() -> None:
    replier = FakeReplier()
    assert handle_lookup(request(), deps(WaitingClient(1.0, 3), replier)) is None
    assert len(replier.sent) == 1 and "ahead" not in texts_of(replier)


class LedgerThatCannotFinish:
    """Claims work; recording "done" fails, as when the state store goes away mid-reply."""

    def __init__(self) -> None:
        self.claims = 0

    def state(self, key: str) -> str | None:
        return None

    def claim(self, key: str, ttl_s: int) -> str | None:
        self.claims += 1
        return None

    def finish(self, key: str, ttl_s: int) -> None:
        raise ConnectionError("Redis went away")


def test_a_reply_that_went_out_is_not_retried_when_the_ledger_fails_after(caplog) -> None:
    replier, ledger = FakeReplier(), LedgerThatCannotFinish()
    the_deps = deps(FakeClient(), replier)
    the_deps.ledger = ledger
    assert handle_lookup(request(), the_deps) is None  # no retry: that would answer twice
    assert len(replier.sent) == 1 and ledger.claims == 1
    assert "answered, but could not record it" in caplog.text


class AnsweredLedger:
    """A ledger that already holds this lookup's answer, counting who asks."""

    def __init__(self) -> None:
        self.asked = 0

    def state(self, key: str) -> str | None:
        self.asked += 1
        return "done"

    def claim(self, key: str, ttl_s: int) -> str | None:
        return "done"

    def finish(self, key: str, ttl_s: int) -> None:
        raise AssertionError("an answered lookup is never finished again")


@pytest.mark.parametrize(("attempt", "redelivered"), [(0, True), (2, False), (2, True)])
def test_a_lookup_that_may_have_been_answered_asks_the_ledger_first(
    attempt: int, redelivered: bool
) -> None:
    replier, ledger, client = FakeReplier(), AnsweredLedger(), FakeClient()
    the_deps = deps(client, replier)
    the_deps.ledger = ledger
    assert handle_lookup(request(), the_deps, attempt, redelivered=redelivered) is None
    assert ledger.asked == 1 and client.calls == [] and replier.sent == []


def test_a_first_delivery_skips_the_ledger_and_its_claim_still_holds() -> None:
    replier, ledger = FakeReplier(), AnsweredLedger()
    the_deps = deps(FakeClient(), replier)
    the_deps.ledger = ledger
    assert handle_lookup(request(), the_deps, 0, redelivered=False) is None
    assert ledger.asked == 0 and replier.sent == []  # the claim found it answered: no post


def test_a_state_store_blip_is_left_to_the_task_to_retry_not_answered_as_an_error() -> None:
    import redis

    replier = FakeReplier()
    client = FakeClient(error=redis.exceptions.ConnectionError("Error 111 connecting"))
    with pytest.raises(redis.exceptions.ConnectionError):
        handle_lookup(request(), deps(client, replier))
    assert replier.sent == []
