"""One failed Ekuaibao call is repeated at once, a few times, with short jittered pauses;
only failures known to be transient are, and calls that succeeded are never repeated."""

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
from tasks.ekuaibao.session import CALL_RETRIES
from tasks.ekuaibao.tokens import MemoryTokenStore
from tests.fakes import Clock, ScriptedEkuaibao

pytestmark = pytest.mark.no_net


def scripted(**script: list[httpx.Response | BaseException]) -> ScriptedEkuaibao:
    """Answers for `detail` (detailBatch) and `url` (the links), in order, on a fake clock."""
    fake = ScriptedEkuaibao(Clock())
    for key, answers in script.items():
        fake.queue({"detail": DETAIL_BATCH_PATH, "url": INVOICE_URL_PATH}[key], *answers)
    return fake


def make(handler: ScriptedEkuaibao, sleeps: list[float]) -> EkuaibaoClient:
    assert handler.clock is not None
    http = httpx.Client(base_url="https://ekb.test", transport=httpx.MockTransport(handler))
    return EkuaibaoClient(
        http, Credentials("key", "s"), MemoryTokenStore(), clock=handler.clock, sleep=sleeps.append
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


def test_the_repeats_are_few_and_short_then_the_lookup_backs_off() -> None:
    sleeps: list[float] = []
    fake = scripted(detail=[httpx.Response(503)] * 10)
    with pytest.raises(Transient):
        make(fake, sleeps).line_items(["a"])
    assert fake.api_paths() == [DETAIL_BATCH_PATH] * (CALL_RETRIES + 1)
    for n, pause in enumerate(sleeps):  # jittered within 0.1-0.2, 0.2-0.4, 0.4-0.8 s
        assert 0.1 * 2**n <= pause <= 0.2 * 2**n


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
