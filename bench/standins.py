"""The Ekuaibao and Slack stand-ins in their own processes, for the benchmark.

Running them apart from the load generator keeps their CPU (JSON encoding, Block Kit
validation, one thread per connection) out of the load generator's timing, and their CPU
is measured on its own; Slack runs in a child of the Ekuaibao process, so neither waits
for the other's GIL. Together they serve on 127.0.0.1:

* the Ekuaibao stand-in (``sandbox.ekuaibao.EkuaibaoStandIn``) with ``delay_s`` latency on
  every ``/api/`` call (the token call included) and a world grown with synthetic invoices
  that each carry 1-3 line items with the documented ~4.7 KB ``entity`` blob, plus one report
  of ``--report-size`` invoices;
* the Slack stand-in (``sandbox.slack.SlackStandIn``) with an optional latency added to every
  answer *after* the post is recorded, so ``ResponsePost.at`` is the moment the reply reached
  Slack;
* a small control API on each for the load generator: fresh response_urls, the posts received
  (key, arrival time, status, first words; never the bodies), and a stop switch.

``python -m bench.standins`` prints one JSON line (the URLs and the benchmark's invoice ids)
and serves until ``POST /stop``, until its parent dies, or until ``--lifetime`` seconds have
passed, whichever comes first: it always stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import gc
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from sandbox.ekuaibao import (
    DEMO_INVOICE_IDS,
    OBJECT_ENTITIES,
    Attachment,
    EkuaibaoStandIn,
    HttpRequest,
    HttpResponse,
    LoopbackServer,
    SandboxInvoice,
    SandboxWorld,
    synth_master,
)
from sandbox.slack import SlackStandIn

BOT_TOKEN = "xoxb-sandbox-token"
REPORT_CODE = "B29000100"
REPORT_FLOW_ID = "ID01benchRprt1"
#: A report of taxi tickets only: one search of it teaches the bot every ticket's type.
TICKET_REPORT_CODE = "B29000200"
TICKET_REPORT_FLOW_ID = "ID01benchTkts1"
TICKETS = 40
#: Codes of reports that are each looked up once (never seen before by the bot).
COLD_REPORTS = 2000
#: Slack members the load can come from (``bench_user_ids``), besides the sandbox's own user.
BENCH_USERS = 200
_LINE_CODE = "E_system_发票明细_code"
_REGION = (0.0, 0.0, 2000.0, 1338.0)


# -- the world -----------------------------------------------------------------------------


def synthetic_world(n_invoices: int, report_size: int) -> tuple[SandboxWorld, list[str]]:
    """The sandbox world plus `n_invoices` invoices with lines; the first `report_size` of
    them form report REPORT_CODE. Every line is a copy of a documented sample line (entity
    blob included), so payload sizes are the real ones."""
    world = SandboxWorld.load()
    samples = [line for inv in world.invoices.values() for line in inv.lines]
    template = world.invoices[DEMO_INVOICE_IDS[0]].master
    if not samples or template is None:
        raise RuntimeError("the sandbox world has no sample lines to copy")
    report_form = copy.deepcopy(template.get("flowForm") or {})
    report_form.update({"code": REPORT_CODE, "title": f"Benchmark report ({report_size} invoices)"})
    ids: list[str] = []
    entries: list[dict[str, Any]] = []
    for n in range(n_invoices):
        code, number = f"0330021{n:05d}", f"{60000000 + n}"
        invoice_id = f"djg8LshfUkfM00:{code}:{number}"
        lines = []
        for j in range(1 + n % 3):  # 1, 2 or 3 lines: 2 on average
            line = copy.deepcopy(samples[(n + j) % len(samples)])
            line_id = f"ID_bench{n:05d}{j}"
            line.update({"id": line_id, "masterId": invoice_id, _LINE_CODE: line_id})
            lines.append(line)
        master = synth_master(invoice_id, lines, template)
        if n < report_size:
            master.update({"flowId": REPORT_FLOW_ID, "flowForm": copy.deepcopy(report_form)})
            entries.append(
                {
                    "invoiceId": invoice_id,
                    "invoiceItemId": [line["id"] for line in lines],
                    "invoiceType": "invoice",
                }
            )
        attachment = Attachment(f"发票-{number}.pdf", "pdf", _REGION)
        world.invoices[invoice_id] = SandboxInvoice(
            invoice_id=invoice_id,
            lines=tuple(lines),
            object_id="invoice",
            master=master,
            attachment=attachment,
        )
        world.by_file_name[attachment.file_name] = attachment
        ids.append(invoice_id)
    world.reports_by_code[REPORT_CODE] = entries
    world.reports_by_id[REPORT_FLOW_ID] = entries
    for code in cold_report_codes():  # the same invoices under codes the bot has never seen
        world.reports_by_code[code] = entries
    return world, ids


def add_tickets(world: SandboxWorld, n_tickets: int) -> list[str]:
    """`n_tickets` taxi tickets (copies of the sandbox's taxi sample, each its own id and
    attachment), all on report TICKET_REPORT_CODE, whose search names their type."""
    sample = next(inv for inv in world.invoices.values() if inv.object_id == "taxi")
    if sample.master is None:
        raise RuntimeError("the sandbox world's taxi ticket has no master record")
    form = copy.deepcopy(sample.master.get("flowForm") or {})
    form.update({"code": TICKET_REPORT_CODE, "title": f"Benchmark tickets ({n_tickets})"})
    ids: list[str] = []
    for n in range(n_tickets):
        ticket_id = f"ID01benchTaxi{n:04d}"  # not VAT-shaped: the bot treats it as a ticket
        master = {**copy.deepcopy(sample.master), "id": ticket_id}
        master.update({"flowId": TICKET_REPORT_FLOW_ID, "flowForm": copy.deepcopy(form)})
        attachment = Attachment(f"taxi-{n:04d}.jpg", "image", _REGION)
        master["E_system_发票主体_图片"] = attachment.file_name
        world.invoices[ticket_id] = SandboxInvoice(
            invoice_id=ticket_id, object_id="taxi", master=master, attachment=attachment
        )
        world.by_file_name[attachment.file_name] = attachment
        ids.append(ticket_id)
    entries = [{"invoiceId": i, "invoiceItemId": [], "invoiceType": "taxi"} for i in ids]
    world.reports_by_code[TICKET_REPORT_CODE] = entries
    world.reports_by_id[TICKET_REPORT_FLOW_ID] = entries
    return ids


def cold_report_codes() -> list[str]:
    """Report codes each looked up once: a report nobody looked at in the last 30 minutes."""
    return [f"B291{n:05d}" for n in range(COLD_REPORTS)]


class AsyncFront:
    """An asyncio HTTP/1.1 front for the sandbox handlers (``HttpRequest -> HttpResponse``).

    The sandbox's own server is a ``ThreadingHTTPServer``: a thread per connection and a
    listen backlog of 5. Under benchmark load (hundreds of calls a second, an HTTP pool that
    opens and closes connections) it drops SYNs (1 s retransmits) and its threads fight for
    the GIL, adding tens of ms of tail latency that real Ekuaibao would not add. Here one
    event loop serves every connection (backlog 1024), runs the sandbox handler as the
    request arrives and sends the answer ``latency`` seconds after arrival (or, with
    ``after=True``, handles it at once and waits ``latency`` before answering, which for
    Slack means the post is recorded when it arrives). The handlers, their data and their
    records (``RecordedCall.at``, ``ResponsePost.at``: arrival times) are the sandbox's own.
    """

    def __init__(
        self,
        app: Callable[[HttpRequest], HttpResponse],
        latency_for: Callable[[HttpRequest], float],
    ) -> None:
        self._app = app
        self._latency_for = latency_for
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0
        #: per request: ms between the promised answer time and the answer leaving
        self.overrun_ms: list[float] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        future.result(timeout=10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._connection, "127.0.0.1", 0, backlog=1024, limit=2**20
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            for _ in range(1_000_000):  # keep-alive: one request after another, bounded
                line = await reader.readline()
                if not line.strip():
                    break
                arrived = time.monotonic()
                method, target, _version = line.decode("latin-1").split(" ", 2)
                headers = Message()
                for _ in range(200):
                    raw = await reader.readline()
                    if raw in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = raw.decode("latin-1").partition(":")
                    headers[name.strip()] = value.strip()
                length = int(headers.get("Content-Length") or 0)
                body = await reader.readexactly(length) if length > 0 else b""
                received_at = time.time()  # the sandbox's clock
                parts = urlsplit(target)
                query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                request = HttpRequest(
                    method, parts.path, unquote(parts.path), query, headers, body, received_at
                )
                try:
                    response = self._app(request)
                except Exception as exc:  # a stand-in bug must be a loud 500, not a hang
                    response = HttpResponse.text(500, f"sandbox error: {exc!r}")
                latency = self._latency_for(request)
                due = arrived + latency
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                head = [f"HTTP/1.1 {response.status} {_REASONS.get(response.status, 'Status')}"]
                head.append(f"Content-Type: {response.content_type}")
                head.append(f"Content-Length: {len(response.body)}")
                head.extend(f"{k}: {v}" for k, v in response.headers.items())
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.body)
                await writer.drain()
                if latency > 0:
                    self.overrun_ms.append((time.monotonic() - due) * 1000)
                if (headers.get("Connection") or "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()


_JSON = "application/json;charset=UTF-8"
_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 500: "Error"}


class FrontedEkuaibao(EkuaibaoStandIn):
    """The sandbox Ekuaibao, served by an AsyncFront that adds the latency to `/api/` calls
    (the token call included), exactly where the sandbox's own `delay_s` applies.

    The two big answers (`detailBatch`, the master search by ids) are assembled from
    pre-encoded items: JSON-encoding ~60 KB per lookup was a third of the stand-in's CPU,
    and its answers came late under load. The bytes are the sandbox's own: checked against
    the sandbox's handlers at start-up, and not used if they ever differ."""

    def __init__(self, world: SandboxWorld, latency_s: float, sample_ids: list[str]) -> None:
        super().__init__(world=world)
        self.delay_s = 0.0  # the front waits instead of a blocked thread
        self.front = AsyncFront(
            self._handle, lambda r: latency_s if r.path.startswith("/api/") else 0.0
        )
        self._lines: dict[str, list[bytes]] = {}
        self._masters: dict[str, dict[str, bytes]] = {}
        self.fast: bool | None = None  # None while checking: use the pre-encoded path
        self.fast = self._same_as_sandbox(sample_ids)

    def _same_as_sandbox(self, ids: list[str]) -> bool:
        samples = [ids[:5], ids[3:23], [*ids[:2], "unknown:0:0", ids[1]], list(DEMO_INVOICE_IDS)]
        for chosen in samples:
            mine = self._detail_batch({"invoiceIds": chosen})
            theirs = super()._detail_batch({"invoiceIds": chosen})
            if (mine.status, mine.body) != (theirs.status, theirs.body):
                return False
            mine = self._master_search("invoice", {"ids": chosen})
            theirs = super()._master_search("invoice", {"ids": chosen})
            if (mine.status, mine.body) != (theirs.status, theirs.body):
                return False
        return True

    @staticmethod
    def _encode(item: Any) -> bytes:
        return json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode()

    @staticmethod
    def _string_list(body: Any, key: str) -> list[str] | None:
        value = body.get(key) if isinstance(body, dict) else None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(dict.fromkeys(value))
        return None

    def _detail_batch(self, body: Any) -> HttpResponse:
        ids = self._string_list(body, "invoiceIds")
        if ids is None or self.fast is False:
            return super()._detail_batch(body)  # errors, or the sandbox's own answer
        per_invoice = []
        for invoice_id in ids:
            if invoice_id not in self._lines:
                self._lines[invoice_id] = [self._encode(x) for x in self.world.lines_of(invoice_id)]
            if self._lines[invoice_id]:
                per_invoice.append(self._lines[invoice_id])
        flat: list[bytes] = []  # interleaved across invoices, then reversed, as the sandbox
        for depth in range(max((len(x) for x in per_invoice), default=0)):
            flat.extend(lines[depth] for lines in per_invoice if depth < len(lines))
        flat.reverse()
        return HttpResponse(200, b'{"items":[' + b",".join(flat) + b"]}", _JSON)

    def _master_search(self, object_id: str, body: Any) -> HttpResponse:
        ids = self._string_list(body, "ids")
        if ids is None or object_id not in OBJECT_ENTITIES or self.fast is False:
            return super()._master_search(object_id, body)
        if object_id not in self._masters:
            self._masters[object_id] = {
                m["id"]: self._encode(m) for m in self.world.masters_of(object_id)
            }
        known = self._masters[object_id]
        found = [known[i] for i in ids if i in known]
        payload = b'{"count":%d,"items":[' % len(found) + b",".join(found) + b"]}"
        return HttpResponse(200, payload, _JSON)

    @property
    def base_url(self) -> str:
        return self.front.base_url

    def start(self) -> FrontedEkuaibao:
        self.front.start()
        return self

    def stop(self) -> None:
        self.front.stop()


class FrontedSlack(SlackStandIn):
    """The sandbox Slack, served by an AsyncFront; every answer `latency_s` after arrival."""

    def __init__(self, latency_s: float) -> None:
        super().__init__(bot_token=BOT_TOKEN)
        self.front = AsyncFront(self._handle, lambda r: latency_s)

    @property
    def base_url(self) -> str:
        return self.front.base_url

    def start(self) -> FrontedSlack:
        self.front.start()
        return self

    def stop(self) -> None:
        self.front.stop()


# -- the stand-in process ------------------------------------------------------------------


class _SlackControl:
    """The load generator's view of the Slack side: fresh response_urls and the posts."""

    def __init__(self, slack: FrontedSlack) -> None:
        self.slack = slack
        self.stop = threading.Event()

    def handle(self, req: HttpRequest) -> HttpResponse:
        if req.path == "/urls" and req.method == "POST":
            n = max(0, min(int(req.query.get("n", "1")), 20000))
            return HttpResponse.json(
                200, {"urls": [self.slack.new_response_url() for _ in range(n)]}
            )
        if req.path == "/posts" and req.method == "GET":
            since = max(0, int(req.query.get("since", "0")))
            posts = self.slack.posts[since:]
            summary = [
                [p.key, p.at, p.status, _first_words(p.body), _n_blocks(p.body)] for p in posts
            ]
            return HttpResponse.json(200, {"posts": summary, "next": since + len(posts)})
        if req.path == "/stats" and req.method == "GET":
            return HttpResponse.json(
                200,
                {
                    "slack_posts": len(self.slack.posts),
                    "slack_api_calls": len(self.slack.api_calls),
                    "slack_overrun_ms": _spread(list(self.slack.front.overrun_ms)),
                },
            )
        return _stop_or_404(req, self.stop)


class _EkuaibaoControl:
    """The load generator's view of the Ekuaibao side: its calls, faults and stats."""

    def __init__(self, ekuaibao: FrontedEkuaibao) -> None:
        self.ekuaibao = ekuaibao
        self.stop = threading.Event()

    def handle(self, req: HttpRequest) -> HttpResponse:
        if req.path == "/calls" and req.method == "GET":
            since = max(0, int(req.query.get("since", "0")))
            calls = self.ekuaibao.calls[since:]
            summary = [[c.path.rsplit("/", 1)[-1], c.at, c.status, _ids_key(c.body)] for c in calls]
            return HttpResponse.json(200, {"calls": summary, "next": since + len(calls)})
        if req.path == "/stats" and req.method == "GET":
            calls = self.ekuaibao.calls
            by_path: dict[str, int] = {}
            for call in calls:
                by_path[call.path] = by_path.get(call.path, 0) + 1
            return HttpResponse.json(
                200,
                {
                    "ekuaibao_calls": len(calls),
                    "ekuaibao_by_path": by_path,
                    "tokens_issued": self.ekuaibao.tokens_issued,
                    "pre_encoded_answers": self.ekuaibao.fast,
                    # how late the stand-in's answers left, after the promised latency
                    "ekuaibao_overrun_ms": _spread(list(self.ekuaibao.front.overrun_ms)),
                },
            )
        if req.path == "/faults" and req.method == "POST":
            fraction = min(max(float(req.query.get("fail_fraction", "0")), 0.0), 1.0)
            self.ekuaibao.fail_fraction(fraction, seed=int(req.query.get("seed", "0")))
            return HttpResponse.json(200, {"fail_fraction": fraction})
        return _stop_or_404(req, self.stop)


def _stop_or_404(req: HttpRequest, stop: threading.Event) -> HttpResponse:
    if req.path == "/stop" and req.method == "POST":
        stop.set()
        return HttpResponse.json(200, {"ok": True})
    return HttpResponse.text(404, "Not Found")


def ids_key(ids: Any) -> str:
    """One request's ids, order-free: how a call is matched to the command that caused it."""
    return ",".join(sorted(str(i) for i in ids)) if isinstance(ids, list | tuple) else ""


def _ids_key(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    for name in ("invoiceIds", "invoiceId", "ids", "codeOrIds"):
        if isinstance(body.get(name), list):
            return ids_key(body[name])
    return ""


def bench_user_ids(n: int = BENCH_USERS) -> list[str]:
    """The ids of the workspace members the load generator sends as (U0BENCH000…)."""
    return [f"U0BENCH{i:03d}" for i in range(n)]


def _spread(values: list[float]) -> dict[str, float | None]:
    data = sorted(values)

    def q(p: float) -> float | None:
        return data[min(len(data) - 1, int(p * len(data)))] if data else None

    return {"p50": q(0.5), "p99": q(0.99), "max": data[-1] if data else None}


def _first_words(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("text") or body.get("_raw") or "")[:160]
    return ""


def _n_blocks(body: Any) -> int:
    blocks = body.get("blocks") if isinstance(body, dict) else None
    return len(blocks) if isinstance(blocks, list) else 0


def _punctual(priority: int) -> None:
    """Real Ekuaibao and Slack do not share our CPUs, so their answers are not late when the
    bot is busy. On a 2-core machine the stand-ins do share them; a higher scheduling
    priority keeps their answers punctual (their CPU still comes out of the same cores and
    is reported). Needs root or CAP_SYS_NICE; without it, they run at normal priority."""
    if priority:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, priority)


def serve(args: argparse.Namespace) -> int:
    """Ekuaibao here, Slack in a forked child: real Ekuaibao and Slack do not share a GIL,
    and the Slack side's Block Kit validation (a few ms a post) would otherwise make
    Ekuaibao's answers late."""
    _punctual(args.priority)
    read_fd, write_fd = os.pipe()
    child = os.fork()  # before any thread starts
    if child == 0:
        os.close(read_fd)
        status = 1
        try:
            status = _serve_slack(args, write_fd)
        finally:
            os._exit(status)
    os.close(write_fd)
    try:
        return _serve_ekuaibao(args, read_fd, child)
    finally:
        with contextlib.suppress(OSError):
            os.kill(child, signal.SIGTERM)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(child, 0)


def _serve_slack(args: argparse.Namespace, info_fd: int) -> int:
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    slack = FrontedSlack(args.slack_latency_ms / 1000)
    for user_id in bench_user_ids(args.users):  # users.info answers for each of them
        slack.add_user(user_id, f"{user_id.lower()}@sandbox.example")
    control = _SlackControl(slack)
    server = LoopbackServer("127.0.0.1", 0, control.handle)
    slack.start()
    server.start("bench-slack-control")
    info = {
        "slack_api_url": slack.api_url,
        "slack_response_url_prefix": slack.response_url_prefix,
        "slack_control_url": server.base_url,
    }
    with os.fdopen(info_fd, "w") as out:
        out.write(json.dumps(info))
    gc.collect()
    gc.freeze()
    try:
        _until_stopped(args, control.stop)
    finally:
        server.stop()
        slack.stop()
    return 0


def _serve_ekuaibao(args: argparse.Namespace, info_fd: int, slack_pid: int) -> int:
    world, ids = synthetic_world(args.invoices, args.report_size)
    tickets = add_tickets(world, TICKETS)
    # The world is a large, permanent object graph (every line carries its entity blob):
    # left to the collector, each full collection would walk it and stall every answer
    # for tens of ms. Freeze it, as a real server's data would not be in our heap at all.
    gc.collect()
    gc.freeze()
    ekuaibao = FrontedEkuaibao(world, args.ekuaibao_latency_ms / 1000, ids)
    control = _EkuaibaoControl(ekuaibao)
    server = LoopbackServer("127.0.0.1", 0, control.handle)
    ekuaibao.start()
    server.start("bench-control")
    with os.fdopen(info_fd) as slack_side:
        slack_info = json.loads(slack_side.read() or "{}")
    if not slack_info:
        server.stop()
        ekuaibao.stop()
        return 1
    info = {
        "ekuaibao_url": ekuaibao.base_url,
        "control_url": server.base_url,
        **slack_info,
        "invoice_ids": ids,
        "report_code": REPORT_CODE,
        "cold_report_codes": cold_report_codes(),
        "ticket_ids": tickets,
        "ticket_report_code": TICKET_REPORT_CODE,
        "pid": os.getpid(),
        "slack_pid": slack_pid,
    }
    print(json.dumps(info), flush=True)
    try:
        _until_stopped(args, control.stop)
    finally:
        server.stop()
        ekuaibao.stop()
    return 0


def _until_stopped(args: argparse.Namespace, stop: threading.Event) -> None:
    """Until POST /stop, the load generator's death, or the lifetime, whichever is first."""
    parent = os.getppid()
    deadline = time.monotonic() + args.lifetime
    while not stop.wait(0.5):
        if time.monotonic() > deadline or os.getppid() != parent:
            break


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.standins", description=__doc__)
    parser.add_argument("--ekuaibao-latency-ms", type=float, default=200.0)
    parser.add_argument("--slack-latency-ms", type=float, default=0.0)
    parser.add_argument("--invoices", type=int, default=200)
    parser.add_argument("--report-size", type=int, default=100)
    parser.add_argument("--users", type=int, default=BENCH_USERS, help="Slack members U0BENCH…")
    parser.add_argument("--lifetime", type=float, default=1800.0, help="stop after this many s")
    parser.add_argument("--priority", type=int, default=0, help="nice value, e.g. -10")
    return serve(parser.parse_args(argv))


# -- the load generator's side -------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    key: str
    at: float
    status: int
    text: str
    blocks: int


@dataclass(frozen=True)
class Call:
    endpoint: str  # the path's last segment: detailBatch, url, search, getAccessToken…
    at: float
    status: int
    ids_key: str


class StandIns:
    """A running stand-in process, seen from the load generator."""

    def __init__(self, proc: subprocess.Popen[bytes], info: dict[str, Any]) -> None:
        self.proc = proc
        self.info = info
        self._http = httpx.Client(base_url=info["control_url"], timeout=30, trust_env=False)
        self._slack = httpx.Client(base_url=info["slack_control_url"], timeout=30, trust_env=False)
        self._cursor = 0

    @classmethod
    def start(
        cls,
        log_path: Path,
        *,
        ekuaibao_latency_ms: float,
        slack_latency_ms: float,
        invoices: int = 200,
        report_size: int = 100,
        lifetime_s: float = 1800.0,
        priority: int = 0,
        env: dict[str, str] | None = None,
    ) -> StandIns:
        args = [
            sys.executable,
            "-m",
            "bench.standins",
            "--ekuaibao-latency-ms",
            str(ekuaibao_latency_ms),
            "--slack-latency-ms",
            str(slack_latency_ms),
            "--invoices",
            str(invoices),
            "--report-size",
            str(report_size),
            "--lifetime",
            str(lifetime_s),
            "--priority",
            str(priority),
        ]
        with log_path.open("ab") as log_file:
            proc = subprocess.Popen(
                args, stdout=subprocess.PIPE, stderr=log_file, env=env, start_new_session=True
            )
        assert proc.stdout is not None
        line = proc.stdout.readline()  # the process prints its URLs once it listens
        if not line:
            proc.wait(timeout=10)
            raise RuntimeError(f"the stand-ins did not start; see {log_path}")
        return cls(proc, json.loads(line))

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def ekuaibao_url(self) -> str:
        return str(self.info["ekuaibao_url"])

    @property
    def slack_api_url(self) -> str:
        return str(self.info["slack_api_url"])

    @property
    def slack_response_url_prefix(self) -> str:
        return str(self.info["slack_response_url_prefix"])

    @property
    def invoice_ids(self) -> list[str]:
        return list(self.info["invoice_ids"])

    @property
    def report_code(self) -> str:
        return str(self.info["report_code"])

    @property
    def ticket_ids(self) -> list[str]:
        return [str(i) for i in self.info.get("ticket_ids", [])]

    @property
    def ticket_report_code(self) -> str:
        return str(self.info["ticket_report_code"])

    @property
    def cold_report_codes(self) -> list[str]:
        return [str(code) for code in self.info["cold_report_codes"]]

    def response_urls(self, n: int) -> list[str]:
        urls: list[str] = []
        while len(urls) < n:
            chunk = min(n - len(urls), 5000)
            urls.extend(self._slack.post("/urls", params={"n": chunk}).json()["urls"])
        return urls

    def new_posts(self) -> list[Post]:
        """Posts that arrived since the last call."""
        answer = self._slack.get("/posts", params={"since": self._cursor}).json()
        self._cursor = int(answer["next"])
        return [
            Post(str(k), float(at), int(st), str(t), int(b)) for k, at, st, t, b in answer["posts"]
        ]

    def calls(self) -> list[Call]:
        """Every Ekuaibao call so far (arrival time, and the ids it asked for)."""
        answer = self._http.get("/calls", params={"since": 0}).json()
        return [Call(str(p), float(at), int(st), str(k)) for p, at, st, k in answer["calls"]]

    def fail_fraction(self, fraction: float, seed: int = 0) -> None:
        """From now on Ekuaibao fails this fraction of its API calls (502), at random."""
        params = {"fail_fraction": str(fraction), "seed": str(seed)}
        self._http.post("/faults", params=params).raise_for_status()

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self._http.get("/stats").json()
        stats.update(self._slack.get("/stats").json())
        return stats

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                self._slack.post("/stop", timeout=5)
            with contextlib.suppress(httpx.HTTPError):
                self._http.post("/stop", timeout=5)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._http.close()
        self._slack.close()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


if __name__ == "__main__":
    sys.exit(main())
