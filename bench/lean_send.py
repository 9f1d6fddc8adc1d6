"""What `tasks/lean_http.send` saves by handing a request to the Client's transport itself
(httpx's private `_transport_for_url`) instead of `Client.send`, and what `Client.post`
costs: CPU per call, in one process, the ways interleaved so a busy machine hurts all alike.

    python -m bench.lean_send [--calls 20000] [--rounds 5]

The transport answers at once with a small JSON body and the headers a real answer has,
so what is timed is httpx's own work per call, not the network.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import httpx

from tasks import lean_http

_BODY = b'{"ok":true,"items":[{"id":"ID01owxnSeDP41","amount":"1280.50"}]}'
_HEADERS = {"Content-Type": "application/json; charset=utf-8", "Content-Length": str(len(_BODY))}
_PARAMS = {"accessToken": "ID01owxnSeDP41:abcdefghijklmnop"}
_JSON = {"ids": ["djg8LshfUkfM00:033002100311:23272058"] * 5}


def _client() -> httpx.Client:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=_HEADERS, content=_BODY)

    return httpx.Client(
        base_url="https://ekb.test/api/openapi",
        transport=httpx.MockTransport(answer),
        headers={"User-Agent": "ekb-invoice-bot/bench"},
        timeout=httpx.Timeout(10.0, connect=3.0),
    )


def _client_send(client: httpx.Client) -> httpx.Response:
    """The same request handed to `Client.send` (auth, redirects, cookie jar)."""
    return client.send(
        lean_http.build_request(client, "POST", "/v2/x", params=_PARAMS, json_body=_JSON)
    )


def ways() -> dict[str, Callable[[], httpx.Response]]:
    client = _client()
    return {
        "lean_http.send (transport)": lambda: lean_http.send(
            client, "POST", "/v2/x", params=_PARAMS, json_body=_JSON
        ),
        "build_request + Client.send": lambda: _client_send(client),
        "Client.post": lambda: client.post("/v2/x", params=_PARAMS, json=_JSON),
    }


def measure(calls: int, rounds: int) -> dict[str, list[float]]:
    """µs of CPU per call, one figure per round for each way."""
    chosen = ways()
    for call in chosen.values():  # warm: caches, imports
        for _ in range(200):
            call()
    results: dict[str, list[float]] = {name: [] for name in chosen}
    for _ in range(rounds):
        for name, call in chosen.items():
            start = time.process_time()
            for _ in range(calls):
                call()
            results[name].append((time.process_time() - start) / calls * 1e6)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    results = measure(args.calls, args.rounds)
    for name, figures in results.items():
        print(
            f"{name:30} median {statistics.median(figures):6.1f} µs  "
            f"(min {min(figures):.1f}, max {max(figures):.1f})"
        )


if __name__ == "__main__":
    main()
