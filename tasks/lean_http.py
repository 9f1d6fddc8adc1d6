"""One HTTP request through an httpx.Client's own transport, without the Client's extras.

`httpx.Client.post` merges the request through base URL, params, headers and cookies, runs
its auth and redirect machinery and files cookies from every answer, for features these
calls never use. Here the request is built directly (`build_request`) and handed to the
transport the Client would pick for that URL (httpx's private `_transport_for_url`: its
pool, or a proxy mounted from the environment), with the Client's default headers and
timeouts. Errors are httpx's own, as from `Client.post`. Measured by `bench/lean_send.py`:
~25 µs of CPU a call against ~61 through `Client.send` and ~113 through `Client.post`, so
the private call alone saves ~36 µs, ~0.15 ms of a reply's ~5.3 ms in the worker (4 calls).
Without the attribute it falls back to `Client.send`. httpx and httpcore are pinned for
what this module uses of them (tests/unit/tasks/test_private_pins.py).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from typing import Any

import httpcore
import httpx
import msgspec

_JSON = {"Content-Type": "application/json"}
#: How often a connection pool asks all its idle connections whether they have expired.
SWEEP_S = 1.0


#: Merged relative URLs: a few Ekuaibao paths under one base URL, with a token that changes
#: rarely. httpx parses and checks a URL character by character in Python, 3–4 times for
#: one merge (~44 us of CPU, ~0.13 ms a lookup). Absolute URLs (Slack's response_urls, each
#: used once and secret) are never kept.
_merged: dict[tuple[int, str, tuple[tuple[str, str], ...]], tuple[httpx.URL, httpx.URL]] = {}
_MERGED_MAX = 256


def merged_url(client: httpx.Client, url: str, params: dict[str, str] | None) -> httpx.URL:
    """As the Client merges it, remembered for relative URLs."""
    if not url.startswith("/") or url.startswith("//"):
        return _merge(client, url, params)
    base = client.base_url
    key = (id(base), url, tuple(params.items()) if params else ())
    known = _merged.get(key)
    if known is not None and known[0] is base:
        return known[1]
    merged = _merge(client, url, params)
    if len(_merged) >= _MERGED_MAX:  # old tokens: start again
        _merged.clear()
    _merged[key] = (base, merged)
    return merged


def _merge(client: httpx.Client, url: str, params: dict[str, str] | None) -> httpx.URL:
    """As the Client merges it: a relative URL is appended to the base URL's path."""
    target = httpx.URL(url)
    if target.is_relative_url:
        base = client.base_url
        target = base.copy_with(raw_path=base.raw_path + target.raw_path.lstrip(b"/"))
    return target.copy_merge_params(params) if params else target


def send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    params: dict[str, str] | None = None,
    json_body: Any = None,
) -> httpx.Response:
    """The response, read and closed (bodies here are small JSON documents)."""
    request = build_request(client, method, url, params=params, json_body=json_body)
    route = getattr(client, "_transport_for_url", None)
    if route is None:  # an httpx without it: the Client's own, slower, path
        return client.send(request)
    response: httpx.Response = route(request.url).handle_request(request)
    try:
        response.read()
    finally:
        response.close()
    response.request = request
    return response


def build_request(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    params: dict[str, str] | None = None,
    json_body: Any = None,
) -> httpx.Request:
    """The request `Client.post` would build: merged URL, default headers, timeouts."""
    content = None
    headers = client.headers
    if json_body is not None:
        try:
            content = msgspec.json.encode(json_body)
        except TypeError:
            content = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode()
        headers = httpx.Headers(client.headers)
        headers.update(_JSON)
    return httpx.Request(
        method,
        merged_url(client, url, params),
        headers=headers,
        content=content,
        extensions={"timeout": client.timeout.as_dict()},
    )


class LinearConnectionPool(httpcore.ConnectionPool):
    """httpcore's connection pool, deciding the same things in time linear in its size.

    httpcore 1.0.9 rebuilds a list of every connection once per idle connection whenever a
    request starts or ends, under the pool's lock: quadratic in the connections a busy
    worker keeps to Ekuaibao (~100), it cost more CPU than the lookups themselves. Here
    the same rules (drop closed, expired and surplus idle connections; reuse, open, or
    replace an idle one) count once.

    Asking an idle HTTP/1.1 connection whether it expired is a `poll` on its socket (did the
    server close it?), which releases the GIL; httpcore asks every idle connection when any
    request starts and again when it ends: ~14 polls a request with a busy worker's ~20 idle
    connections a pool, each a GIL hand-off among 64 threads. Here idle connections are
    all asked at most once every `SWEEP_S`; in between, only the one about to be reused is
    (and replaced if it expired), so no request goes out on a dead connection.
    """

    _next_sweep = 0.0

    def _assign_requests_to_connections(self) -> list[httpcore.ConnectionInterface]:
        closing: list[httpcore.ConnectionInterface] = []
        kept: list[httpcore.ConnectionInterface] = []
        count = len(self._connections)
        now = time.monotonic()
        sweep = now >= self._next_sweep
        if sweep:
            self._next_sweep = now + SWEEP_S
        for connection in self._connections:
            if connection.is_closed():
                count -= 1
            elif ((sweep or not connection.is_idle()) and connection.has_expired()) or (
                connection.is_idle() and count > self._max_keepalive_connections
            ):
                count -= 1
                closing.append(connection)
            else:
                kept.append(connection)
        self._connections[:] = kept
        for pool_request in [r for r in self._requests if r.is_queued()]:
            origin = pool_request.request.url.origin
            reuse = self._reusable(origin, closing, checked=sweep)
            if reuse is None and len(self._connections) >= self._max_connections:
                idle = next((c for c in self._connections if c.is_idle()), None)
                if idle is None:
                    continue  # the request waits for a connection to come free
                self._connections.remove(idle)
                closing.append(idle)
            if reuse is None:
                reuse = self.create_connection(origin)
                self._connections.append(reuse)
            pool_request.assign_to_connection(reuse)
        return closing

    def _reusable(
        self,
        origin: httpcore.Origin,
        closing: list[httpcore.ConnectionInterface],
        *,
        checked: bool,
    ) -> httpcore.ConnectionInterface | None:
        """The first connection that can take a request for `origin`; an idle one not
        swept just now is asked first whether it expired, and dropped if so."""
        while True:
            reuse = next(
                (c for c in self._connections if c.can_handle_request(origin) and c.is_available()),
                None,
            )
            if reuse is None or checked or not reuse.is_idle() or not reuse.has_expired():
                return reuse
            self._connections.remove(reuse)
            closing.append(reuse)


class ThreadShardedTransport(httpx.BaseTransport):
    """A few transports; each thread always uses the same one (they are dealt out in turn).

    Even linear, a pool's bookkeeping visits every idle connection on every request (for
    HTTP/1.1 with a `select` each, to see whether the server closed it): a few pools split
    that work, and each still sees enough requests to keep its connections alive between
    a real tenant's lookups.
    """

    def __init__(self, transports: list[httpx.BaseTransport]) -> None:
        self._transports = transports
        self._next = itertools.count()
        self._local = threading.local()

    def _mine(self) -> httpx.BaseTransport:
        mine: httpx.BaseTransport | None = getattr(self._local, "transport", None)
        if mine is None:
            mine = self._transports[next(self._next) % len(self._transports)]
            self._local.transport = mine
        return mine

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._mine().handle_request(request)

    def close(self) -> None:
        for transport in self._transports:
            transport.close()


def http_transport(limits: httpx.Limits) -> httpx.HTTPTransport:
    """An httpx transport whose pool is a LinearConnectionPool (a proxy's pool is kept)."""
    transport = httpx.HTTPTransport(limits=limits)
    pool = getattr(transport, "_pool", None)
    if type(pool) is httpcore.ConnectionPool:
        pool.__class__ = LinearConnectionPool
    return transport
