"""Download an invoice file from its signed URL, within a size cap, staying on its host.

A signed URL is a secret: it is never put in an exception or a log line. Redirects are
followed by hand, only to the same scheme, host and port, so a link that points elsewhere
is refused before anything elsewhere is contacted. The body is refused by its declared
length first, then by counting what arrives: reading stops at the first byte past the cap,
or when a server dripping the body has taken DOWNLOAD_SECONDS.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tasks.files.limits import DOWNLOAD_SECONDS, MAX_DOWNLOAD_BYTES, MAX_REDIRECTS
from tasks.files.results import PreviewFailed

if TYPE_CHECKING:
    import httpx

_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Counted bytes are the bytes on the wire: no compressed body inflating past the cap.
_HEADERS = {"Accept-Encoding": "identity"}


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme)


def download(http: httpx.Client, url: str, *, max_bytes: int = MAX_DOWNLOAD_BYTES) -> bytes:
    """The file's bytes; PreviewFailed "too_big", "redirected" or "download_failed"."""
    import httpx  # here, not at the top: the renderer's child imports this package

    try:
        target = httpx.URL(url)
        origin = _origin(target)
        for _ in range(MAX_REDIRECTS + 1):
            with http.stream("GET", target, headers=_HEADERS, follow_redirects=False) as answer:
                location = answer.headers.get("Location", "")
                if not (answer.is_redirect and location):  # a 3xx without one: failed
                    return _body(answer, max_bytes)
                target = answer.url.join(location)
            if _origin(target) != origin:
                raise PreviewFailed("redirected")
    except (httpx.HTTPError, httpx.InvalidURL, ValueError):
        raise PreviewFailed("download_failed") from None
    raise PreviewFailed("redirected")  # still redirecting after MAX_REDIRECTS hops


def _body(answer: httpx.Response, max_bytes: int) -> bytes:
    if answer.status_code != 200:
        raise PreviewFailed("download_failed")
    declared = answer.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise PreviewFailed("too_big")
    chunks, size = [], 0
    deadline = time.monotonic() + DOWNLOAD_SECONDS
    for chunk in answer.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise PreviewFailed("too_big")
        if time.monotonic() > deadline:  # each read has the client's timeout, not the sum
            raise PreviewFailed("download_failed")
        chunks.append(chunk)
    return b"".join(chunks)
