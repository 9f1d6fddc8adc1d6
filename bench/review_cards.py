"""Event received → review card in the approver's DM, and the approver's queue, timed.

`python -m bench.review_cards` starts the real bot (`invoicebot serve --http`, embedded broker,
worker child) against the loopback stand-ins with `--ekuaibao-latency-ms` added to every
Ekuaibao call, then:

* sends `--events` 待审批 messages (each for its own report of `--invoices` invoices) the way
  Ekuaibao's outbound sender does, one at a time, and times each from the POST to the card
  being in the approver's DM; the target is 3 Ekuaibao round trips + 100 ms;
* puts 100 reports in one approver's queue and times `/invoice review` from the command to
  the list reaching its response_url (target: 2 s).

Prints one JSON line of results. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.loadgen import nearest_rank
from bench.run import free_port
from sandbox.ekuaibao import APPROVER_EMAIL, APPROVER_ID, EkuaibaoStandIn
from sandbox.ekuaibao_approver import APPROVER2_EMAIL, APPROVER2_ID, approval_event
from sandbox.signing import slash_command
from sandbox.slack import SlackStandIn
from tasks.environment import without_settings

BOT_TOKEN = "xoxb-sandbox-token"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=30)
    parser.add_argument("--invoices", type=int, default=10)
    parser.add_argument("--ekuaibao-latency-ms", type=float, default=50.0)
    parser.add_argument("--queue-size", type=int, default=100)
    args = parser.parse_args(argv)
    latency = args.ekuaibao_latency_ms / 1000
    folder = Path(tempfile.mkdtemp(prefix="invoicebot-bench-review-"))
    token, secret, port = secrets.token_urlsafe(24), secrets.token_hex(16), free_port()
    with EkuaibaoStandIn() as ekuaibao, SlackStandIn(bot_token=BOT_TOKEN) as slack:
        slack.add_user("U0APPROVER", APPROVER_EMAIL)
        slack.add_user("U0APPROVER2", APPROVER2_EMAIL)
        env = without_settings(os.environ)
        env.update(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=secret,
            SLACK_API_URL=slack.api_url,
            SLACK_RESPONSE_URL_PREFIXES=slack.response_url_prefix,
            EKUAIBAO_BASE_URL=ekuaibao.base_url,
            EKUAIBAO_APP_KEY="sandbox-app-key",
            EKUAIBAO_APP_SECURITY="sandbox-app-security",
            EKUAIBAO_EVENTS_TOKEN=token,
            EKUAIBAO_RATE_LIMIT="1000",
            EKUAIBAO_RATE_BURST="10000",
            BOT_LANGUAGE="en",
            STATE_DIR=str(folder / "state"),
        )
        command = [sys.executable, "-m", "bot.cli", "serve", "--http", "--port", str(port)]
        with (folder / "bot.log").open("wb") as log:
            bot = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/livez", timeout=1).is_success:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            ekuaibao.delay_s = latency
            url = f"http://127.0.0.1:{port}/ekuaibao/events/{token}"
            times: list[float] = []
            acks: list[float] = []
            for n in range(args.events + 3):  # the first three warm up (token, pools, names)
                flow_id = f"ID01bEnCh{n:05d}"
                ekuaibao.approver.add_report(
                    flow_id, f"B2398{n:04d}", approvers=[APPROVER_ID], invoices=args.invoices
                )
                before = len(slack.messages_in("D0APPROVER"))
                started = time.perf_counter()
                delivery = ekuaibao.approver.send(
                    url, approval_event(ekuaibao.world, "backlog.approving", flow_id, APPROVER_ID)
                )
                while len(slack.messages_in("D0APPROVER")) == before:
                    if time.perf_counter() - started > 30:
                        raise TimeoutError("no card within 30 s")
                    time.sleep(0.002)
                if n >= 3:
                    times.append((time.perf_counter() - started) * 1000)
                    acks.append(delivery.elapsed_ms)
            for n in range(args.queue_size):
                ekuaibao.approver.add_report(
                    f"ID01qUeUe{n:05d}", f"B2397{n:04d}", approvers=[APPROVER2_ID], invoices=1
                )
            queue_ms: list[float] = []
            events_url = f"http://127.0.0.1:{port}/slack/events"
            for _ in range(5):
                response_url = slack.new_response_url()
                body, headers = slash_command(secret, "review", response_url, user_id="U0APPROVER2")
                started = time.perf_counter()
                httpx.post(events_url, content=body, headers=headers, timeout=10)
                slack.wait_for_posts(response_url, 1, timeout=30)
                queue_ms.append((time.perf_counter() - started) * 1000)
        finally:
            bot.send_signal(signal.SIGTERM)
            bot.wait(timeout=30)
    result = {
        "ekuaibao_latency_ms": args.ekuaibao_latency_ms,
        "invoices_per_report": args.invoices,
        "events": len(times),
        "event_to_card_ms": {
            "p50": round(statistics.median(times), 1),
            "p90": round(nearest_rank(times, 0.9), 1),
            "max": round(max(times), 1),
        },
        "target_ms": round(3 * args.ekuaibao_latency_ms + 100, 1),
        "event_ack_ms_p50": round(statistics.median(acks), 1),
        "queue_reports": args.queue_size,
        "queue_reply_ms": {
            "p50": round(statistics.median(queue_ms), 1),
            "max": round(max(queue_ms), 1),
        },
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
