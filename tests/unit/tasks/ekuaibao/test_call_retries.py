"""One failed Ekuaibao call is repeated at once, with short jittered pauses, for a few
seconds after its first failure and never past the time its answer is wanted by; only
failures known to be transient are, and calls that succeeded are never repeated."""

import httpx
import pytest

from tasks.ekuaibao import budget
from tasks.ekuaibao.client import (
    DETAIL_BATCH_PATH,
    INVOICE_URL_PATH,
    Credentials,
    EkuaibaoClient,
)
from tasks.ekuaibao.errors import (
    BadRequest,
    BudgetSpent,
    RateLimited,
    Transient,
    Unavailable,
)
from tasks.ekuaibao.session import (
    CALL_RETRY_MAX_PAUSE_S,
    CALL_RETRY_WINDOW_S,
    CALL_TRIES_MAX,
    repeat_in,
    retry_until,
)
from tasks.ekuaibao.tokens import MemoryTokenStore
from tests.fakes import Clock, ScriptedEkuaibao


def scripted(**script: list[httpx.Response | BaseException]) -> ScriptedEkuaibao:
    """Answers for `detail` (detailBatch) and `url` (the links), in order, on a fake clock."""
    fake = ScriptedEkuaibao(Clock())
    for key, answers in script.items():
        fake.queue({"detail": DETAIL_BATCH_PATH, "url": INVOICE_URL_PATH}[key], *answers)
    return fake


def make(handler: ScriptedEkuaibao, sleeps: list[float]) -> EkuaibaoClient:
    """A client on the handler's fake clock; each pause is recorded and moves the clock."""
    clock = handler.clock
    assert clock is not None

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)

    http = httpx.Client(base_url="https://ekb.test", transport=httpx.MockTransport(handler))
    return EkuaibaoClient(
        http, Credentials("key", "s"), MemoryTokenStore(), clock=clock, sleep=sleep
    )


def _request() -> httpx.Request:
    return httpx.Request("POST", "https://ekb.test/")


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500, text="oops"),
        httpx.Response(502, text="<html>Bad Gateway</html>"),
        httpx.Response(503),
        httpx.Response(504),
        httpx.ReadTimeout("timed out", request=_request()),
        httpx.ConnectTimeout("timed out", request=_request()),
        httpx.ConnectError("refused", request=_request()),
        httpx.ReadError("connection reset by peer", request=_request()),
        httpx.RemoteProtocolError("server disconnected", request=_request()),
        httpx.Response(429),
    ],
)
def test_a_transient_failure_is_repeated_at_once(failure: object) -> None:
    sleeps: list[float] = []
    fake = scripted(detail=[failure])
    assert make(fake, sleeps).line_items(["a"]) == []
    assert fake.api_paths() == [DETAIL_BATCH_PATH] * 2
    assert len(sleeps) == 1 and 0.1 <= sleeps[0] <= 0.2


def test_a_failing_call_is_repeated_until_its_window_closes_then_the_lookup_backs_off() -> None:
    sleeps: list[float] = []
    fake = scripted(detail=[httpx.Response(503)] * 30)
    fake.call_s = 0.2
    with pytest.raises(Transient):
        make(fake, sleeps).line_items(["a"])
    tries = len(fake.api_paths())
    assert 7 <= tries <= CALL_TRIES_MAX  # about eight tries in the window, never more than ten
    assert tries == len(sleeps) + 1
    for n, pause in enumerate(sleeps):  # jittered 0.1-0.2, 0.2-0.4, 0.4-0.8, then 0.5-1 s
        doubled = min(0.2 * 2**n, CALL_RETRY_MAX_PAUSE_S)
        assert doubled / 2 <= pause <= doubled
    # every repeat started within the window after the first failure (at 0.2 s)
    assert sum(sleeps) + 0.2 * (tries - 2) <= CALL_RETRY_WINDOW_S


def test_a_call_that_fails_seven_times_still_gets_its_answer() -> None:
    sleeps: list[float] = []
    fake = scripted(detail=[httpx.Response(502)] * 7)
    fake.call_s = 0.2
    assert make(fake, sleeps).line_items(["a"]) == []
    assert fake.api_paths() == [DETAIL_BATCH_PATH] * 8
    assert fake.clock is not None and fake.clock.now - 1_700_000_000.0 < 7.0


def test_no_repeat_starts_after_the_time_the_answer_is_wanted_by() -> None:
    sleeps: list[float] = []
    fake = scripted(detail=[httpx.Response(502)] * 30)
    fake.call_s = 0.2
    assert fake.clock is not None
    token = retry_until.set(fake.clock.now + 1.5)
    try:
        with pytest.raises(Transient):
            make(fake, sleeps).line_items(["a"])
    finally:
        retry_until.reset(token)
    assert fake.clock.now - 1_700_000_000.0 < 1.5 + 0.2  # the last try started before 1.5 s
    assert 2 <= len(fake.api_paths()) <= 4


def test_without_a_moving_clock_the_tries_are_still_bounded() -> None:
    fake = ScriptedEkuaibao(Clock())  # time stands still: only the count ends the repeats
    fake.queue(DETAIL_BATCH_PATH, *[httpx.Response(502)] * 30)
    http = httpx.Client(base_url="https://ekb.test", transport=httpx.MockTransport(fake))
    client = EkuaibaoClient(
        http, Credentials("key", "s"), MemoryTokenStore(), clock=Clock(), sleep=lambda _: None
    )
    with pytest.raises(Transient):
        client.line_items(["a"])
    assert len(fake.api_paths()) == CALL_TRIES_MAX


@pytest.mark.parametrize(
    ("attempt", "failing_s", "until", "expected"),
    [
        (0, 0.0, None, (0.1, 0.2)),
        (2, 1.0, None, (0.4, 0.8)),
        (6, 3.0, None, (0.5, 1.0)),  # the pause stops doubling at 1 s
        (6, CALL_RETRY_WINDOW_S - 0.4, None, None),  # a 0.5-1 s pause would end past the window
        (0, 0.0, 100.05, None),  # the answer is wanted by 100.05 s: too soon for a 0.1 s pause
        (0, 0.0, 101.0, (0.1, 0.2)),
    ],
)
def test_the_pause_before_a_repeat(
    attempt: int, failing_s: float, until: float | None, expected: tuple[float, float] | None
) -> None:
    pause = repeat_in(Transient("502"), attempt, failing_s, 100.0, until)
    if expected is None:
        assert pause is None
    else:
        assert pause is not None and expected[0] <= pause <= expected[1]


def test_a_429_asking_for_a_long_wait_is_left_to_the_lookup() -> None:
    assert repeat_in(RateLimited(30.0), 0, 0.0, 100.0, None) is None
    assert repeat_in(RateLimited(2.0), 0, 0.0, 100.0, None) == 2.0


def test_slow_timeouts_are_repeated_only_while_the_call_is_young() -> None:
    sleeps: list[float] = []
    timeout = httpx.ReadTimeout("timed out", request=_request())
    fake = scripted(detail=[timeout] * 10)
    fake.call_s = 10.0  # each try hangs for the whole 10-second timeout
    with pytest.raises(Transient):
        make(fake, sleeps).line_items(["a"])
    assert len(fake.api_paths()) == 2  # 10 s, then 20 s: past the 12-second window


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (httpx.Response(501, text="not implemented"), Unavailable),
        (httpx.Response(200, text="<html>maintenance</html>"), Unavailable),
        (httpx.Response(200, json={"items": [{"no": "masterId"}]}), Unavailable),
        (httpx.Response(400, json={"errorCode": 400, "errorMessage": "参数错误"}), BadRequest),
        (httpx.Response(412, json={"errorCode": 412, "errorMessage": "单据不存在"}), BadRequest),
        (httpx.Response(429, headers={"Retry-After": "60"}), RateLimited),
        (httpx.UnsupportedProtocol("no", request=_request()), Unavailable),
        (budget.RateLimited(45.0, 12, _request()), BudgetSpent),
    ],
)
def test_other_failures_are_not_repeated(failure: object, error: type[Exception]) -> None:
    sleeps: list[float] = []
    fake = scripted(detail=[failure] * 5)
    with pytest.raises(error) as caught:
        make(fake, sleeps).line_items(["a"])
    assert fake.api_paths() == [DETAIL_BATCH_PATH] and sleeps == []
    assert not isinstance(caught.value, Transient) or isinstance(caught.value, RateLimited)
    if isinstance(caught.value, BudgetSpent):
        assert (caught.value.wait_s, caught.value.ahead) == (45.0, 12)


def test_a_short_retry_after_is_honoured_before_the_repeat() -> None:
    sleeps: list[float] = []
    fake = scripted(detail=[httpx.Response(429, headers={"Retry-After": "2"})])
    assert make(fake, sleeps).line_items(["a"]) == []
    assert sleeps == [2.0] and len(fake.api_paths()) == 2


def test_a_lookup_repeats_only_the_call_that_failed() -> None:
    sleeps: list[float] = []
    fake = scripted(detail=[httpx.Response(502), httpx.ReadError("reset")])
    client = make(fake, sleeps)
    client.line_items(["a"])
    client.attachments(["a"])
    assert fake.api_paths().count(DETAIL_BATCH_PATH) == 3
    assert fake.api_paths().count(INVOICE_URL_PATH) == 1
