"""One HTTP request through an httpx.Client's own transport, without the Client's extras.

`httpx.Client.post` merges the request through base URL, params, headers and cookies, runs
its auth and redirect machinery and files cookies from every answer: ~15 % of a busy
worker's CPU (py-spy on the benchmark at 50 req/s), for features these calls never use.
Here the request is built directly and handed to the transport the Client would pick for
that URL (its pool, or a proxy mounted from the environment), with the Client's default
headers and timeouts. Errors are httpx's own, as from `Client.post`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import httpx

_JSON = {"Content-Type": "application/json"}


def _url(client: httpx.Client, url: str, params: dict[str, str] | None) -> httpx.URL:
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
    content = None
    headers = client.headers
    if json_body is not None:
        content = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode()
        headers = httpx.Headers(client.headers)
        headers.update(_JSON)
    request = httpx.Request(
        method,
        _url(client, url, params),
        headers=headers,
        content=content,
        extensions={"timeout": client.timeout.as_dict()},
    )
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


class PerThreadTransport(httpx.BaseTransport):
    """A small connection pool for each thread, made on its first request.

    httpcore's pool does work quadratic in its size on every request and every answer (it
    counts its idle connections once per idle connection, under its lock): one pool shared
    by a worker's ~250 threads cost more CPU than the lookups and made the GIL the
    bottleneck. A thread has at most one request in flight, so its own pool stays at one
    or two connections. `make_pool` must be cheap: share one SSL context between pools.
    """

    def __init__(self, make_pool: Callable[[], httpx.BaseTransport]) -> None:
        self._make_pool = make_pool
        self._local = threading.local()
        self._lock = threading.Lock()
        self._pools: list[httpx.BaseTransport] = []

    def _pool(self) -> httpx.BaseTransport:
        pool: httpx.BaseTransport | None = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = self._make_pool()
            with self._lock:
                self._pools.append(pool)
        return pool

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._pool().handle_request(request)

    def close(self) -> None:
        with self._lock:
            pools, self._pools = self._pools, []
        for pool in pools:
            pool.close()
