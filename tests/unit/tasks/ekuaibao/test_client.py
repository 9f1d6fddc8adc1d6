"""The client's token handling and error map, over httpx.MockTransport (no network)."""

import json
from collections.abc import Callable

import httpx
import pytest

from tasks.ekuaibao.client import (
    DETAIL_BATCH_PATH,
    INVOICE_URL_PATH,
    Credentials,
    EkuaibaoClient,
)
from tasks.ekuaibao.errors import BadRequest, CredentialsRejected, RateLimited, Unavailable
from tasks.ekuaibao.session import CALL_TRIES_MAX, TOKEN_PATH
from tasks.ekuaibao.tokens import AccessToken, FileTokenStore, MemoryTokenStore
from tests.fakes import Clock

SECRET = "app-security-SECRET"


class FakeEkuaibao:
    """A tiny in-memory handler; `script` overrides answers per path."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.tokens_issued = 0
        self.valid: set[str] = set()
        self.calls: list[httpx.Request] = []
        self.script: dict[str, list[httpx.Response]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        queued = self.script.get(request.url.path)
        if queued:
            return queued.pop(0)
        if request.url.path == TOKEN_PATH:
            body = json.loads(request.content)
            if body != {"appKey": "key", "appSecurity": SECRET}:
                return httpx.Response(
                    403, json={"value": {"errorCode": 403, "errorMessage": "密钥无效"}}
                )
            self.tokens_issued += 1
            token = f"ID_tok{self.tokens_issued}:corp"
            self.valid.add(token)
            expire = int((self.clock() + 7200) * 1000)
            return httpx.Response(200, json={"value": {"accessToken": token, "expireTime": expire}})
        if request.url.params.get("accessToken") not in self.valid:
            return httpx.Response(403, text="未授权")
        if request.url.path == DETAIL_BATCH_PATH:
            return httpx.Response(200, json={"items": []})
        return httpx.Response(200, json={"items": []})


def chained(exc: BaseException) -> bool:
    """Would a traceback print another exception (say httpx's, with the URL) with this one?"""
    return exc.__cause__ is not None or (
        exc.__context__ is not None and not exc.__suppress_context__
    )


def make(handler: Callable[[httpx.Request], httpx.Response], clock: Clock, store=None, sleeps=None):
    http = httpx.Client(base_url="https://ekb.test", transport=httpx.MockTransport(handler))
    return EkuaibaoClient(
        http,
        Credentials("key", SECRET),
        store or MemoryTokenStore(),
        clock=clock,
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
    )


def test_token_is_cached_and_renewed_before_expiry() -> None:
    clock = Clock()
    fake = FakeEkuaibao(clock)
    client = make(fake, clock)
    client.line_items(["a"])
    client.attachments(["a"])
    assert fake.tokens_issued == 1
    clock.now += 7200 - 299  # inside the 5-minute margin
    client.line_items(["a"])
    assert fake.tokens_issued == 2


class CountingStore(MemoryTokenStore):
    def __init__(self) -> None:
        super().__init__()
        self.loads = 0

    def load(self):
        self.loads += 1
        return super().load()


def test_the_shared_store_is_read_once_per_process_while_the_token_is_fresh() -> None:
    clock = Clock()
    fake = FakeEkuaibao(clock)
    store = CountingStore()
    client = make(fake, clock, store=store)
    client.line_items(["a"])
    loads = store.loads
    for _ in range(5):
        client.line_items(["a"])
        client.attachments(["a"])
    assert store.loads == loads  # ten calls, no store round trip
    clock.now += 7200 - 299  # near expiry: back to the store (and a new token)
    client.line_items(["a"])
    assert store.loads > loads and fake.tokens_issued == 2


def test_a_token_renewed_by_another_process_is_picked_up_after_one_403() -> None:
    clock = Clock()
    fake = FakeEkuaibao(clock)
    store = MemoryTokenStore()
    mine, other = make(fake, clock, store=store), make(fake, clock, store=store)
    mine.line_items(["a"])
    clock.now += 60  # not brand-new any more
    fake.valid.clear()  # Ekuaibao revokes it; the other process renews first
    other.line_items(["a"])
    assert fake.tokens_issued == 2
    mine.line_items(["a"])  # refused with its copy, then takes the stored one
    assert fake.tokens_issued == 2
    assert fake.calls[-1].url.params["accessToken"] == store.token.value


def test_token_is_sent_as_query_parameter_and_body_is_json() -> None:
    clock = Clock()
    fake = FakeEkuaibao(clock)
    make(fake, clock).line_items(["djg8:1:2", "ID_3tlmF6$S1bg"])
    call = fake.calls[-1]
    assert call.url.params["accessToken"] == "ID_tok1:corp"
    assert json.loads(call.content) == {"invoiceIds": ["djg8:1:2", "ID_3tlmF6$S1bg"]}


def test_a_403_renews_the_token_once() -> None:
    clock = Clock()
    fake = FakeEkuaibao(clock)
    client = make(fake, clock)
    client.line_items(["a"])
    clock.now += 60
    fake.valid.clear()  # Ekuaibao revoked it
    client.line_items(["a"])
    assert fake.tokens_issued == 2


def test_a_403_on_a_brand_new_token_waits_instead_of_renewing() -> None:
    clock = Clock()
    fake = FakeEkuaibao(clock)
    fake.script[DETAIL_BATCH_PATH] = [httpx.Response(403, text="未授权")]
    sleeps: list[float] = []
    make(fake, clock, sleeps=sleeps).line_items(["a"])
    assert sleeps == [1.5] and fake.tokens_issued == 1


def test_a_brand_new_token_that_stays_refused_is_renewed_once() -> None:
    clock = Clock()
    fake = FakeEkuaibao(clock)
    client = make(fake, clock)
    client.line_items(["a"])
    fake.valid.clear()
    client.line_items(["a"])
    assert fake.tokens_issued == 2


def test_two_403s_mean_credentials_rejected() -> None:
    clock = Clock()
    fake = FakeEkuaibao(clock)
    client = make(fake, clock)
    client.line_items(["a"])
    clock.now += 60
    fake.script[DETAIL_BATCH_PATH] = [httpx.Response(403, text="未授权")] * 3
    with pytest.raises(CredentialsRejected):
        client.line_items(["a"])
    assert fake.tokens_issued == 2  # renewed exactly once


def test_wrong_credentials_are_rejected_clearly() -> None:
    clock = Clock()
    fake = FakeEkuaibao(clock)
    http = httpx.Client(base_url="https://ekb.test", transport=httpx.MockTransport(fake))
    client = EkuaibaoClient(http, Credentials("key", "wrong"), MemoryTokenStore(), clock=clock)
    with pytest.raises(CredentialsRejected):
        client.line_items(["a"])


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.Response(500, text="oops"), Unavailable),
        (httpx.Response(502, text="<html>Bad Gateway</html>"), Unavailable),
        (httpx.Response(200, text="<html>maintenance</html>"), Unavailable),
        (httpx.Response(200, text='{"items": [{"masterId": 1'), Unavailable),
        (httpx.Response(200, json={"items": [{"no": "masterId"}]}), Unavailable),
        (httpx.Response(200, json={"items": "nope"}), Unavailable),
        (httpx.Response(429, headers={"Retry-After": "7"}), RateLimited),
        (httpx.Response(400, json={"errorCode": 400, "errorMessage": "参数错误"}), BadRequest),
        (httpx.Response(412, json={"errorCode": 412, "errorMessage": "单据不存在"}), BadRequest),
    ],
)
def test_error_map(response: httpx.Response, error: type[Exception]) -> None:
    clock = Clock()
    fake = FakeEkuaibao(clock)
    fake.script[DETAIL_BATCH_PATH] = [response] * CALL_TRIES_MAX  # the same to every repeat
    with pytest.raises(error) as caught:
        make(fake, clock).line_items(["a"])
    assert "accessToken" not in str(caught.value) and "ID_tok" not in str(caught.value)
    assert not chained(caught.value)
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after_s == 7


def test_timeouts_and_connection_errors_are_unavailable_without_the_url() -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        if request.url.path == TOKEN_PATH:
            return httpx.Response(200, json={"value": {"accessToken": "t", "expireTime": 9e12}})
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(Unavailable) as caught:
        make(boom, Clock()).line_items(["a"])
    assert "accessToken" not in str(caught.value) and not chained(caught.value)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(Unavailable):
        make(refused, Clock()).line_items(["a"])


def test_lines_and_links_are_asked_for_in_batches_of_100() -> None:
    clock = Clock()
    fake = FakeEkuaibao(clock)
    client, ids = make(fake, clock), [f"ID{i}" for i in range(150)]
    assert client.line_items(ids) == [] and client.attachments(ids) == []
    paths = [c.url.path for c in fake.calls]
    assert paths.count(DETAIL_BATCH_PATH) == 2 and paths.count(INVOICE_URL_PATH) == 2


def test_file_store_is_private_and_shared(tmp_path) -> None:
    store = FileTokenStore(tmp_path, "k")
    token = AccessToken("ID_x:corp", 9_999_999_999_999, 1.0)
    store.save(token)
    assert FileTokenStore(tmp_path, "k").load() == token
    assert (tmp_path / "ekuaibao-token-k.json").stat().st_mode & 0o777 == 0o600
    store.discard("someone-else")
    assert store.load() == token
    store.discard("ID_x:corp")
    assert store.load() is None
    assert "ID_x" not in repr(token)
