"""Compare the Socket Mode clients Bolt supports on the ways a connection ends.

    python bench/socket_mode_compare.py [--quick] [candidate ...]

Each candidate runs in its own process against `sandbox.socket_mode.SocketModeStandIn`
with a listener that acks at once, so every millisecond of ack latency is the client's.
Cases: a `refresh_requested` disconnect with envelopes flowing through the switch-over
(max ack latency, missing and duplicate acks); a close frame, a TCP connection ended
without one (FIN or RST) and a peer that stops answering (time to the next `hello`, and
the CPU the process used over at least 5 s); a refused WebSocket handshake at start-up
(what `connect()` does). Prints a Markdown table; `--json` prints the raw numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox.slack import SlackStandIn
from sandbox.socket_mode import SocketModeStandIn

CANDIDATES = ("builtin", "websocket_client", "aiohttp", "websockets", "ours")
APP_TOKEN = "xapp-1-A0SANDBOX-bench"
CPU_WINDOW_S = 5.0  # CPU is averaged over at least this long after the connection ends


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class SyncCandidate:
    """slack_sdk's threaded clients (builtin, websocket_client) and ours."""

    def __init__(self, name: str, api_url: str) -> None:
        from slack_sdk import WebClient
        from slack_sdk.socket_mode.response import SocketModeResponse

        web = WebClient(base_url=api_url)
        quiet = logging.getLogger(f"bench.{name}")
        if name == "builtin":
            from slack_sdk.socket_mode.builtin import SocketModeClient

            # Bolt's builtin SocketModeHandler passes ping_interval=10
            self.client: Any = SocketModeClient(
                APP_TOKEN, web_client=web, logger=quiet, ping_interval=10
            )
        elif name == "websocket_client":
            from slack_sdk.socket_mode.websocket_client import SocketModeClient as WsClient

            self.client = WsClient(APP_TOKEN, web_client=web, logger=quiet)
        else:
            from bot.socket_mode import HelloAwareClient

            self.client = HelloAwareClient(APP_TOKEN, web_client=web, logger=quiet)

        def ack(client: Any, req: Any) -> None:
            client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

        self.client.socket_mode_request_listeners.append(ack)

    def connect(self) -> str:
        try:
            if hasattr(self.client, "connect_and_wait"):
                self.client.connect_and_wait(timeout=10)
            else:
                self.client.connect()
        except Exception as exc:
            return f"raises {type(exc).__name__}"
        return "returns normally"

    def close(self) -> None:
        self.client.close()


class AsyncCandidate:
    """slack_sdk's asyncio clients, on their own event loop thread (they need AsyncApp)."""

    def __init__(self, name: str, api_url: str) -> None:
        from slack_sdk.socket_mode.response import SocketModeResponse
        from slack_sdk.web.async_client import AsyncWebClient

        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        quiet = logging.getLogger(f"bench.{name}")

        async def build() -> Any:
            web = AsyncWebClient(base_url=api_url)
            if name == "aiohttp":
                from slack_sdk.socket_mode.aiohttp import SocketModeClient

                return SocketModeClient(APP_TOKEN, web_client=web, logger=quiet)
            from slack_sdk.socket_mode.websockets import SocketModeClient as WsClient

            return WsClient(APP_TOKEN, web_client=web, logger=quiet)

        self.client: Any = self._run(build())

        async def ack(client: Any, req: Any) -> None:
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

        self.client.socket_mode_request_listeners.append(ack)

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def connect(self) -> str:
        try:
            self._run(self.client.connect())
        except Exception as exc:
            return f"raises {type(exc).__name__}"
        return "returns normally"

    def close(self) -> None:
        self._run(self.client.close())


def _candidate(name: str, api_url: str) -> SyncCandidate | AsyncCandidate:
    if name in ("aiohttp", "websockets"):
        return AsyncCandidate(name, api_url)
    return SyncCandidate(name, api_url)


def _until(sm: SocketModeStandIn, greeted: int, started: float, timeout: float) -> float | None:
    try:
        conn = sm.wait_connections(greeted + 1, timeout=timeout)
    except TimeoutError:
        return None
    assert conn.hello_at is not None
    return conn.hello_at - started


def _greeted(sm: SocketModeStandIn) -> int:
    return sum(1 for c in sm.connections if c.hello_at is not None)


def case_refresh(sm: SocketModeStandIn, refreshes: int) -> dict[str, Any]:
    latencies: list[float] = []
    missing = duplicates = 0
    for _ in range(refreshes):
        sm.wait_open()
        sm.request_refresh(close_after=3.0)
        sent = []
        until = time.monotonic() + 2.0
        while time.monotonic() < until:
            with contextlib.suppress(RuntimeError):  # no open connection for a moment
                sent.append(sm.send("events_api", {"type": "event_callback", "event": {}}))
            time.sleep(0.05)
        deadline = time.monotonic() + 10
        for envelope_id in sent:
            try:
                ack = sm.wait_ack(envelope_id, timeout=max(0.0, deadline - time.monotonic()))
                latencies.append(ack.latency_s)
            except TimeoutError:
                missing += 1
            duplicates += max(0, len(sm.acks_for(envelope_id)) - 1)
        time.sleep(1.5)
    over = sum(1 for x in latencies if x > 3.0)
    return {
        "refreshes": refreshes,
        "envelopes": len(latencies) + missing,
        "max_ack_s": max(latencies, default=0.0),
        "acks_over_3s": over,
        "missing_acks": missing,
        "duplicate_acks": duplicates,
    }


def case_end(sm: SocketModeStandIn, how: Callable[[Any], None], timeout: float) -> dict[str, Any]:
    conn = sm.wait_open(timeout=15)
    greeted = _greeted(sm)
    cpu0, t0 = _cpu_s(), time.monotonic()
    how(conn)
    took = _until(sm, greeted, t0, timeout)
    time.sleep(max(0.0, t0 + CPU_WINDOW_S - time.monotonic()))
    wall = time.monotonic() - t0
    return {"reconnect_s": took, "cpu_pct": 100 * (_cpu_s() - cpu0) / wall}


def run_one(name: str, quick: bool) -> dict[str, Any]:
    logging.basicConfig(level=logging.CRITICAL)
    result: dict[str, Any] = {"candidate": name}
    with SocketModeStandIn(app_token=APP_TOKEN) as sm, SlackStandIn(socket_mode=sm) as slack:
        # refused start-up first, on a fresh client
        sm.refuse_next(1, 503)
        refused = _candidate(name, slack.api_url)
        result["refused_connect"] = refused.connect()
        refused.close()
        time.sleep(0.5)

        cases: dict[str, Callable[[], dict[str, Any]]] = {
            "refresh": lambda: case_refresh(sm, 2 if quick else 4),
            "close_frame": lambda: case_end(sm, sm.close, 30),
            "tcp_fin": lambda: case_end(sm, sm.drop, 30),
            "tcp_rst": lambda: case_end(sm, lambda c: sm.drop(c, reset=True), 30),
            "dead_peer": lambda: case_end(sm, sm.freeze, 30 if quick else 70),
        }
        for case, run in cases.items():  # a fresh client for each case
            client = _candidate(name, slack.api_url)
            client.connect()
            sm.wait_open(timeout=15)
            result[case] = run()
            client.close()
            for conn in sm.open_connections():
                sm.drop(conn)  # nothing left over for the next case
            time.sleep(0.5)
    return result


def _fmt(seconds: float | None, cap: str = "none") -> str:
    return f"{seconds:.2f} s" if seconds is not None else cap


def table(results: list[dict[str, Any]]) -> str:
    rows = [
        "| client | refresh: max ack / over 3 s / missing / dup | close frame: reconnect "
        "| TCP FIN, no close frame: reconnect, CPU | TCP RST: reconnect, CPU "
        "| peer stops answering: reconnect, CPU | refused handshake: `connect()` |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if "error" in r:
            rows.append(f"| {r['candidate']} | error: {r['error']} | | | | | |")
            continue
        f = r["refresh"]
        rows.append(
            f"| {r['candidate']} | {f['max_ack_s']:.2f} s / {f['acks_over_3s']} of "
            f"{f['envelopes']} / {f['missing_acks']} / {f['duplicate_acks']} "
            f"| {_fmt(r['close_frame']['reconnect_s'])} "
            f"| {_fmt(r['tcp_fin']['reconnect_s'])}, {r['tcp_fin']['cpu_pct']:.0f} % "
            f"| {_fmt(r['tcp_rst']['reconnect_s'])}, {r['tcp_rst']['cpu_pct']:.0f} % "
            f"| {_fmt(r['dead_peer']['reconnect_s'], 'none in the wait')}, "
            f"{r['dead_peer']['cpu_pct']:.0f} % "
            f"| {r['refused_connect']} |"
        )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidates", nargs="*", default=list(CANDIDATES))
    parser.add_argument("--quick", action="store_true", help="fewer refreshes, shorter waits")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.quick)))
        return 0
    results = []
    root = Path(__file__).resolve().parents[1]
    for name in args.candidates:
        cmd = [sys.executable, "-m", "bench.socket_mode_compare", "--one", name]
        if args.quick:
            cmd.append("--quick")
        print(f"… {name}", file=sys.stderr, flush=True)
        done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=600)
        try:
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        except (ValueError, IndexError):
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            results.append({"candidate": name, "error": tail[:120]})
    print(json.dumps(results, indent=1) if args.json else table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
