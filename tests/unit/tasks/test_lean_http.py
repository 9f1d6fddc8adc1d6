"""Requests sent past the Client's extras must be the requests the Client would send."""

import json
from typing import Any

import httpx
import pytest

from tasks import lean_http


def recorder(seen: list[httpx.Request], status: int = 200) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return httpx.Response(status, json={"items": ["中文"]})

    return httpx.MockTransport(handle)


def client(transport: httpx.BaseTransport, **kw: Any) -> httpx.Client:
    return httpx.Client(
        base_url="https://ekb.test/tenant",
        transport=transport,
        headers={"User-Agent": "ekb-invoice-bot/test"},
        timeout=httpx.Timeout(7.0, connect=3.0),
        **kw,
    )


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_the_same_request_as_the_client_would_send(method: str) -> None:
    seen: list[httpx.Request] = []
    http = client(recorder(seen))
    params = {"accessToken": "ID_a b/+:c$"}
    body = {"invoiceIds": ["djg8:1:2", "ID_$x"], "name": "发票"} if method == "POST" else None
    if method == "POST":
        http.post("/api/x", params=params, json=body)
    else:
        http.get("/api/x", params=params)
    answer = lean_http.send(http, method, "/api/x", params=params, json_body=body)
    theirs, mine = seen
    assert (
        str(mine.url)
        == str(theirs.url)
        == ("https://ekb.test/tenant/api/x?accessToken=ID_a+b%2F%2B%3Ac%24")
    )
    assert mine.method == theirs.method and mine.content == theirs.content
    assert sorted(mine.headers.multi_items()) == sorted(theirs.headers.multi_items())
    assert mine.extensions["timeout"] == theirs.extensions["timeout"]
    assert answer.status_code == 200 and answer.json() == {"items": ["中文"]}
    assert answer.is_closed


def test_absolute_urls_and_mounted_proxies_are_respected() -> None:
    direct: list[httpx.Request] = []
    proxied: list[httpx.Request] = []
    http = client(recorder(direct), mounts={"https://hooks.slack.test": recorder(proxied)})
    lean_http.send(http, "POST", "https://hooks.slack.test/commands/T1/2/x", json_body={"a": 1})
    lean_http.send(http, "POST", "/api/x", json_body={"a": 1})
    assert [str(r.url) for r in proxied] == ["https://hooks.slack.test/commands/T1/2/x"]
    assert [str(r.url) for r in direct] == ["https://ekb.test/tenant/api/x"]


def test_transport_errors_are_httpx_errors() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(httpx.ConnectError):
        lean_http.send(client(httpx.MockTransport(refuse)), "POST", "/api/x", json_body={})


def test_without_the_routing_helper_the_client_sends_it(monkeypatch) -> None:
    seen: list[httpx.Request] = []
    http = client(recorder(seen))
    monkeypatch.delattr(httpx.Client, "_transport_for_url")
    monkeypatch.setattr(http, "send", lambda request: httpx.Response(201, request=request))
    assert lean_http.send(http, "POST", "/api/x", json_body={}).status_code == 201


def test_merged_urls_are_remembered_per_base_and_params_but_never_absolute_ones() -> None:
    seen: list[httpx.Request] = []
    http = client(recorder(seen))
    other = httpx.Client(base_url="https://ekb.test/other", transport=recorder(seen))
    for token in ("t1", "t1", "t2"):
        lean_http.send(http, "GET", "/api/x", params={"accessToken": token})
    lean_http.send(other, "GET", "/api/x", params={"accessToken": "t1"})
    for _ in range(2):
        lean_http.send(http, "POST", "https://hooks.slack.test/commands/T1/2/secret", json_body={})
    assert [str(r.url) for r in seen] == [
        "https://ekb.test/tenant/api/x?accessToken=t1",
        "https://ekb.test/tenant/api/x?accessToken=t1",
        "https://ekb.test/tenant/api/x?accessToken=t2",
        "https://ekb.test/other/api/x?accessToken=t1",
        "https://hooks.slack.test/commands/T1/2/secret",
        "https://hooks.slack.test/commands/T1/2/secret",
    ]
    once = lean_http.merged_url(http, "/api/x", {"accessToken": "t1"})
    assert lean_http.merged_url(http, "/api/x", {"accessToken": "t1"}) is once  # parsed once
    assert lean_http.merged_url(http, "/api/x", {"accessToken": "t2"}) is not once
    assert lean_http.merged_url(other, "/api/x", {"accessToken": "t1"}) is not once
    secret = "https://hooks.slack.test/commands/T1/2/secret"
    assert lean_http.merged_url(http, secret, None) is not lean_http.merged_url(http, secret, None)


def test_the_benchmark_times_three_ways_of_sending_the_same_request() -> None:
    """bench/lean_send.py compares like with like: same answer, same request on the wire."""
    from bench import lean_send

    answers = [call() for call in lean_send.ways().values()]
    assert len(answers) == 3
    assert len({(a.status_code, a.content, str(a.request.url)) for a in answers}) == 1
    assert len({a.request.content for a in answers}) == 1
    assert set(lean_send.measure(calls=3, rounds=1)) == set(lean_send.ways())


def test_bodies_are_the_bytes_the_standard_encoder_gives() -> None:
    """The fast encoder for the usual body (integers past 64 bits included), the standard
    one for what it refuses (keys that are not text or numbers): either way the same
    compact UTF-8 JSON."""
    http = client(recorder([]))
    usual = {
        "blocks": [{"text": '发票 *x* \n\t\u2028 😀 \\ " /', "n": -1, "f": 0.1, "t": (1, True)}]
    }
    huge = {"n": 2**70, "text": "金额"}
    odd_keys = {True: "是", None: 0}
    for body in (usual, huge, odd_keys):
        request = lean_http.build_request(http, "POST", "/api/x", json_body=body)
        expected = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        assert request.content == expected
