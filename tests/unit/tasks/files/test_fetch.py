"""Download rules on an in-memory transport: same-host hops only, a few of them, and no
URL in any exception. (Over real sockets: tests/integration/test_files_download.py.)"""

from __future__ import annotations

import httpx
import pytest

from tasks.files.fetch import download
from tasks.files.results import PreviewFailed

SECRET = "Signature=s3cr3t"


def client(routes: dict[str, httpx.Response], seen: list[str]) -> httpx.Client:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return routes.get(request.url.path, httpx.Response(404))

    return httpx.Client(transport=httpx.MockTransport(handle))


def failed(http: httpx.Client, url: str, **kwargs: int) -> PreviewFailed:
    with pytest.raises(PreviewFailed) as caught:
        download(http, url, **kwargs)
    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value.args)
    assert caught.value.__suppress_context__ or caught.value.__context__ is None
    return caught.value


def moved(location: str) -> httpx.Response:
    return httpx.Response(302, headers={"Location": location})


def test_relative_and_absolute_hops_on_the_same_host() -> None:
    seen: list[str] = []
    routes = {
        "/a": moved("/b?x=1"),
        "/b": moved("https://oss.example:443/c"),
        "/c": httpx.Response(200, content=b"%PDF"),
    }
    assert download(client(routes, seen), f"https://oss.example/a?{SECRET}") == b"%PDF"
    assert [u.split("?")[0] for u in seen] == [
        "https://oss.example/a",
        "https://oss.example/b",
        "https://oss.example/c",
    ]


@pytest.mark.parametrize(
    "location",
    [
        "https://evil.example/c",
        "http://oss.example/c",
        "https://oss.example:8443/c",
        "//evil.example/c",
    ],
)
def test_another_scheme_host_or_port_is_refused_uncontacted(location: str) -> None:
    seen: list[str] = []
    http = client({"/a": moved(location)}, seen)
    assert failed(http, f"https://oss.example/a?{SECRET}").reason == "redirected"
    assert len(seen) == 1


def test_at_most_three_hops() -> None:
    seen: list[str] = []
    http = client({"/loop": moved("/loop")}, seen)
    assert failed(http, f"https://oss.example/loop?{SECRET}").reason == "redirected"
    assert len(seen) == 4


def test_no_location_a_bad_status_or_a_bad_url_failed() -> None:
    http = client({"/a": httpx.Response(302), "/gone": httpx.Response(410)}, [])
    assert failed(http, f"https://oss.example/a?{SECRET}").reason == "download_failed"
    assert failed(http, f"https://oss.example/gone?{SECRET}").reason == "download_failed"
    assert failed(http, f"ftp://oss.example/a?{SECRET}").reason == "download_failed"


def test_size_caps() -> None:
    routes = {"/ten": httpx.Response(200, content=b"x" * 10)}
    http = client(routes, [])
    assert download(http, "https://oss.example/ten", max_bytes=10) == b"x" * 10
    assert failed(http, f"https://oss.example/ten?{SECRET}", max_bytes=9).reason == "too_big"
