"""Preview click → the page visible in the person's DM, the renderer's memory, and lookups
beside renders, timed.

`python -m bench.previews` starts the real bot (`invoicebot serve --http` with its worker
child, `PREVIEWS=all`; Redis db 13 as the broker by default, so the worker runs its
production pool, gevent; `--broker embedded` for the embedded broker and threads) against
the loopback stand-ins with `--ekuaibao-latency-ms` added to every Ekuaibao call, then:

* clicks Preview on a one-page PDF `--clicks` times, one after another, and times each from
  the click's POST to the message showing the uploaded page being in the DM (the click
  makes the lookup's three calls for a fresh link, then the download, the render in its
  child, the upload and the post);
* renders `sandbox/data/files/invoice.pdf` in this process's own children and reports their
  peak resident memory (`RUSAGE_CHILDREN`);
* sends `--lookups` `/invoice` commands of 5 VAT ids at `--rate` per second twice: once
  quiet, once while `--renders` Preview clicks are in flight, and compares their e2e p99
  (target: busy ≤ 1.2 × quiet).

Prints one JSON line of results. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.loadgen import nearest_rank
from bench.run import free_port
from sandbox.ekuaibao import EkuaibaoStandIn
from sandbox.signing import block_action, slash_command
from sandbox.slack import SlackStandIn
from tasks.environment import without_settings
from tasks.files import render

BOT_TOKEN = "xoxb-sandbox-token"
PDF_INVOICE = "djg8LshfUkfM00:033002100311:23272058"
SAMPLE = Path(__file__).resolve().parents[1] / "sandbox" / "data" / "files" / "invoice.pdf"


class Bot:
    """The running bot and the stand-ins it talks to."""

    def __init__(
        self, folder: Path, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, broker: str | None
    ) -> None:
        self.secret, self.port = secrets.token_hex(16), free_port()
        self.slack = slack
        env = without_settings(os.environ)
        env.update(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=self.secret,
            SLACK_API_URL=slack.api_url,
            SLACK_RESPONSE_URL_PREFIXES=slack.response_url_prefix,
            EKUAIBAO_BASE_URL=ekuaibao.base_url,
            EKUAIBAO_APP_KEY="sandbox-app-key",
            EKUAIBAO_APP_SECURITY="sandbox-app-security",
            EKUAIBAO_RATE_LIMIT="1000",
            EKUAIBAO_RATE_BURST="10000",
            LOOKUPS_PER_PERSON="100",
            PREVIEWS="all",
            BOT_LANGUAGE="en",
            STATE_DIR=str(folder / "state"),
        )
        if broker:
            env["CELERY_BROKER_URL"] = broker
        command = [sys.executable, "-m", "bot.cli", "serve", "--http", "--port", str(self.port)]
        with (folder / "bot.log").open("wb") as log:
            self.proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.worker: subprocess.Popen[bytes] | None = None
        if broker:  # on Redis, `serve` runs no worker: `invoicebot worker` on its defaults
            with (folder / "worker.log").open("wb") as log:
                self.worker = subprocess.Popen(
                    [sys.executable, "-m", "bot.cli", "worker"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/livez", timeout=1).is_success:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise TimeoutError("the bot did not start")

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def command(self, text: str, user: str = "U0SANDBOX") -> str:
        response_url = self.slack.new_response_url()
        body, headers = slash_command(self.secret, text, response_url, user_id=user)
        httpx.post(self.events_url, content=body, headers=headers, timeout=10)
        return response_url

    def preview_button(self) -> dict[str, Any]:
        [reply] = self.slack.wait_for_posts(self.command(PDF_INVOICE), 1, timeout=30)
        for block in reply.body.get("blocks", []):
            for element in block.get("elements", []):
                if str(element.get("action_id", "")).startswith("preview_file_"):
                    return dict(element)
        raise RuntimeError("no Preview button in the reply")

    def click(self, button: dict[str, Any]) -> str:
        response_url = self.slack.new_response_url()
        body, headers = block_action(
            self.secret,
            button["action_id"],
            button["value"],
            response_url,
            message_ts=f"{time.time():.6f}",
        )
        httpx.post(self.events_url, content=body, headers=headers, timeout=10)
        return response_url

    def stop(self) -> None:
        for proc in (self.proc, self.worker):
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
        for proc in (self.proc, self.worker):
            if proc is not None:
                proc.wait(timeout=30)


def _previews_shown(slack: SlackStandIn) -> int:
    return sum(
        1
        for m in slack.messages_in("D0SANDBOX")
        if any("slack_file" in b for b in m.get("blocks") or [])
    )


def click_to_preview(bot: Bot, button: dict[str, Any], clicks: int) -> list[float]:
    times = []
    for n in range(clicks + 2):  # two to warm up (the child's imports, the pools)
        before = _previews_shown(bot.slack)
        started = time.perf_counter()
        bot.click(button)
        while _previews_shown(bot.slack) == before:
            if time.perf_counter() - started > 60:
                raise TimeoutError("no preview within 60 s")
            time.sleep(0.002)
        if n >= 2:
            times.append((time.perf_counter() - started) * 1000)
    return times


def renderer_peak_mb(renders: int = 5) -> float:
    data = SAMPLE.read_bytes()
    for _ in range(renders):
        render(data, "pdf")
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=20)
    parser.add_argument("--ekuaibao-latency-ms", type=float, default=200.0)
    parser.add_argument("--lookups", type=int, default=60)
    parser.add_argument("--rate", type=float, default=6.0)
    parser.add_argument("--renders", type=int, default=10)
    parser.add_argument(
        "--broker",
        default="redis://127.0.0.1:6379/13",
        help="the worker's broker, flushed first (Redis: the gevent pool, as in production); "
        "'embedded' for the default embedded broker and its threads",
    )
    args = parser.parse_args(argv)
    broker = None if args.broker == "embedded" else args.broker
    if broker:
        import redis

        redis.Redis.from_url(broker).flushdb()
    folder = Path(tempfile.mkdtemp(prefix="invoicebot-bench-previews-"))
    peak_mb = renderer_peak_mb()
    with EkuaibaoStandIn() as ekuaibao, SlackStandIn(bot_token=BOT_TOKEN) as slack:
        for n in range(args.lookups):
            slack.add_user(f"U0L{n:04d}", f"bench{n}@example.com")
        bot = Bot(folder, ekuaibao, slack, broker)
        try:
            ekuaibao.delay_s = args.ekuaibao_latency_ms / 1000
            button = bot.preview_button()
            clicks = click_to_preview(bot, button, args.clicks)
            ids = [i for i in ekuaibao.known_invoice_ids() if ekuaibao.world.invoices[i].lines]
            ids = (ids * 10)[:50]
            quiet = lookups_e2e(bot, ids, args.lookups, args.rate)
            renders = threading.Thread(
                target=lambda: [bot.click(button) for _ in range(args.renders)]
            )
            renders.start()
            busy = lookups_e2e(bot, ids, args.lookups, args.rate)
            renders.join()
        finally:
            bot.stop()
    result = {
        "broker": args.broker.split("://")[0],
        "ekuaibao_latency_ms": args.ekuaibao_latency_ms,
        "click_to_preview_ms": {
            "p50": round(statistics.median(clicks), 1),
            "p90": round(nearest_rank(clicks, 0.9), 1),
            "max": round(max(clicks), 1),
        },
        "renderer_peak_mb": round(peak_mb, 1),
        "lookups": args.lookups,
        "lookup_rate": args.rate,
        "lookup_e2e_p99_ms": {"quiet": round(nearest_rank(quiet, 0.99), 1)},
        "renders_in_flight": args.renders,
    }
    result["lookup_e2e_p99_ms"]["beside_renders"] = round(nearest_rank(busy, 0.99), 1)
    result["p99_ratio"] = round(nearest_rank(busy, 0.99) / nearest_rank(quiet, 0.99), 3)
    result["target_ratio"] = 1.2
    print(json.dumps(result))
    return 0


def lookups_e2e(bot: Bot, ids: list[str], count: int, rate: float) -> list[float]:
    """e2e of `count` lookups sent at `rate` per second: the POST → the reply's arrival at
    the stand-in (its own clock, the wall clock)."""
    sent: list[tuple[str, float]] = []
    for n in range(count):
        started = time.perf_counter()
        first = (n * 5) % (len(ids) - 5)
        at = time.time()
        sent.append((bot.command(" ".join(ids[first : first + 5]), user=f"U0L{n:04d}"), at))
        time.sleep(max(0.0, 1 / rate - (time.perf_counter() - started)))
    times = []
    for url, at in sent:
        [post] = bot.slack.wait_for_posts(url, 1, timeout=60)
        times.append((post.at - at) * 1000)
    return times


if __name__ == "__main__":
    raise SystemExit(main())
