"""Open-loop load generation: signed slash commands at fixed intervals, and what came back.

* Requests are built (and signed, as Slack signs them) before the clock starts, so the
  sending loop only sends.
* The loop sends request *i* at ``start + i / rate`` whether or not earlier ones were
  answered (open loop); each send is its own asyncio task on one pooled httpx client.
* ack latency = the HTTP round trip of the signed POST (``perf_counter``);
  end-to-end = the Slack stand-in's arrival time of the reply (``ResponsePost.at``, taken
  with ``time.time()`` in the stand-in process) minus ``time.time()`` just before sending.
  Both processes read the same system clock.
* A request is *lost* when no successful reply post reached its response_url within
  ``grace_s`` (30 s) after the last send.

Every loop here is bounded: the number of requests is fixed up front, each request has a
timeout, and reply collection stops at its deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bench.standins import Call, Post, StandIns, ids_key
from sandbox.signing import slash_command

ACK_TIMEOUT_S = 10.0
SLACK_ACK_LIMIT_MS = 3000.0


@dataclass
class Command:
    kind: str  # e.g. "ids5", "ids20", "report"
    text: str
    expect: str  # words the first reply message must contain to count as a right answer
    ids: tuple[str, ...] = ()  # the invoice ids asked for (to match Ekuaibao calls to it)


@dataclass
class Outcome:
    kind: str
    key: str  # the response_url's last segment
    expect: str
    ids_key: str = ""
    body: bytes = field(repr=False, default=b"")
    headers: dict[str, str] = field(repr=False, default_factory=dict)
    scheduled: float = 0.0  # epoch s
    sent_at: float = 0.0  # epoch s
    ack_ms: float | None = None
    ack_status: int = 0
    ack_error: str = ""
    posts: list[Post] = field(default_factory=list)

    @property
    def acked(self) -> bool:
        return self.ack_status == 200

    @property
    def replied(self) -> bool:
        return any(p.status == 200 for p in self.posts)

    @property
    def right(self) -> bool:
        return any(p.status == 200 and self.expect in p.text for p in self.posts)

    @property
    def first_reply_at(self) -> float | None:
        ok = [p.at for p in self.posts if p.status == 200]
        return min(ok) if ok else None

    @property
    def last_reply_at(self) -> float | None:
        ok = [p.at for p in self.posts if p.status == 200]
        return max(ok) if ok else None


def build(
    secret: str,
    commands: Sequence[Command],
    response_urls: Sequence[str],
    user_id: str | Sequence[str],
) -> list[Outcome]:
    """Signed bodies for every command, paired with a fresh response_url each.

    `user_id` is one Slack user for every command, or a pool of users taken round-robin:
    one person's flood and many people's traffic load a per-person limit very differently."""
    if len(response_urls) < len(commands):
        raise ValueError("one response_url per command")
    users = [user_id] if isinstance(user_id, str) else list(user_id)
    if not users:
        raise ValueError("at least one user")
    out: list[Outcome] = []
    for n, (command, url) in enumerate(zip(commands, response_urls, strict=False)):
        user = users[n % len(users)]
        body, headers = slash_command(secret, command.text, url, user_id=user)
        key = url.rstrip("/").rsplit("/", 1)[-1]
        out.append(Outcome(command.kind, key, command.expect, ids_key(command.ids), body, headers))
    return out


class _Client:
    """A small HTTP/1.1 client for the open loop: keep-alive connections, one hard deadline
    per request (connect, send and receive together), and no connection-pool queue.

    httpx's async pool serves waiting requests in a loop whose cost grows with the queue;
    against a server that stops answering (the baseline past its capacity) thousands of
    queued requests made the load generator itself the bottleneck. Here a request never
    waits for a connection: it takes an idle one or opens a new one.
    """

    def __init__(self, url: str, max_idle: int = 64) -> None:
        parts = urlsplit(url)
        if parts.hostname != "127.0.0.1":
            raise ValueError("the load generator only talks to 127.0.0.1")
        self._host, self._port = parts.hostname, parts.port or 80
        self._path = parts.path or "/"
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._max_idle = max_idle

    async def post(self, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
        """(status, body); raises TimeoutError or OSError."""
        head = [f"POST {self._path} HTTP/1.1", f"Host: {self._host}:{self._port}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        head.append(f"Content-Length: {len(body)}")
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        async with asyncio.timeout(timeout):
            while self._idle:  # a kept-alive connection the server may have closed meanwhile
                conn = self._idle.pop()
                try:
                    return await self._exchange(conn, request)
                except (_Closed, ConnectionResetError, BrokenPipeError):
                    conn[1].close()  # closed before it answered: safe to send again
                except BaseException:
                    conn[1].close()
                    raise
            conn = await asyncio.open_connection(self._host, self._port)
            sock = conn[1].get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                return await self._exchange(conn, request)
            except BaseException:
                conn[1].close()
                raise

    async def _exchange(
        self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: bytes
    ) -> tuple[int, bytes]:
        reader, writer = conn
        writer.write(request)
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise _Closed()
        status = int(status_line.split(b" ", 2)[1])
        length, chunked, close = -1, False, False
        for _ in range(200):
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                close = True
        if chunked:
            data = bytearray()
            for _ in range(100_000):
                size = int((await reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await reader.readline()
                    break
                data += await reader.readexactly(size)
                await reader.readexactly(2)
            content = bytes(data)
        elif length >= 0:
            content = await reader.readexactly(length)
        else:
            content, close = await reader.read(), True
        if close or len(self._idle) >= self._max_idle:
            writer.close()
        else:
            self._idle.append(conn)
        return status, content

    def close(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


class _Closed(Exception):
    """The server had closed a kept-alive connection before answering."""


async def _send_one(client: _Client, outcome: Outcome) -> None:
    outcome.sent_at = time.time()
    started = time.perf_counter()
    try:
        status, _ = await client.post(outcome.body, outcome.headers, ACK_TIMEOUT_S)
        outcome.ack_ms = (time.perf_counter() - started) * 1000
        outcome.ack_status = status
        if status != 200:
            outcome.ack_error = f"HTTP {status}"
    except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, _Closed) as exc:
        outcome.ack_ms = (time.perf_counter() - started) * 1000
        outcome.ack_error = type(exc).__name__


async def _open_loop(url: str, outcomes: Sequence[Outcome], rate: float) -> None:
    client = _Client(url)
    try:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.05
        epoch_offset = time.time() - loop.time()
        tasks = []
        for i, outcome in enumerate(outcomes):
            due = start + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            outcome.scheduled = due + epoch_offset
            tasks.append(asyncio.create_task(_send_one(client, outcome)))
        # every send has its own deadline (ACK_TIMEOUT_S), so this ends by itself
        await asyncio.gather(*tasks)
    finally:
        client.close()


def send_open_loop(
    url: str, outcomes: Sequence[Outcome], rate: float, *, priority: int = 0
) -> None:
    """Send all `outcomes` at `rate` per second (open loop); fills in the ack fields.

    With `priority` (a nice value, e.g. -10) the sending loop runs at that priority, so a
    busy machine delays the system under test rather than the clock that measures it."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    before = os.getpriority(os.PRIO_PROCESS, 0)
    if priority:
        with contextlib.suppress(OSError):  # needs root or CAP_SYS_NICE
            os.setpriority(os.PRIO_PROCESS, 0, priority)
    # no collector pauses in the middle of the timed loop (its allocations are bounded)
    gc.collect()
    gc.disable()
    try:
        asyncio.run(_open_loop(url, outcomes, rate))
    finally:
        gc.enable()
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, before)


def collect_replies(
    standins: StandIns,
    outcomes: Sequence[Outcome],
    *,
    grace_s: float = 30.0,
    quiet_s: float = 1.0,
    on_all_in: Callable[[], None] | None = None,
) -> float:
    """Fetch reply posts until every acknowledged request has its answer (a post with the
    words it expects, not only a note), or `grace_s` after the
    last send; then wait `quiet_s` more for the later messages of multi-message replies.
    Calls `on_all_in` once, at the moment replies are complete (or the deadline passed).
    Returns that moment (epoch s)."""
    by_key = {o.key: o for o in outcomes}
    last_send = max((o.sent_at for o in outcomes), default=time.time())
    deadline = last_send + grace_s
    waiting = {o.key for o in outcomes if o.acked}

    def absorb() -> None:
        for post in standins.new_posts():
            outcome = by_key.get(post.key)
            if outcome is None:
                continue
            outcome.posts.append(post)
            if outcome.right:  # not a note before the answer ("lookups ahead of yours")
                waiting.discard(post.key)

    absorb()
    while waiting and time.time() < deadline:
        time.sleep(0.2)
        absorb()
    complete_at = time.time()
    if on_all_in is not None:
        on_all_in()
    quiet_until = min(time.time() + quiet_s, deadline + quiet_s)
    while time.time() < quiet_until:
        time.sleep(min(0.25, max(0.0, quiet_until - time.time())))
        absorb()
    return complete_at


# -- statistics ---------------------------------------------------------------------------


def nearest_rank(values: Sequence[float], q: float) -> float:
    """The value at rank ⌊q·n⌋ of the sorted values (q in 0..1): a measured value, not an
    interpolated one, for the small samples of the review-card and preview benches."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None when empty."""
    if not values:
        return None
    data = sorted(values)
    pos = (len(data) - 1) * q / 100
    low, high = math.floor(pos), math.ceil(pos)
    return data[low] + (data[high] - data[low]) * (pos - low)


def summarize(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Every latency metric of one batch of requests (ms unless named otherwise)."""
    acks = [o.ack_ms for o in outcomes if o.acked and o.ack_ms is not None]
    all_ack_times = [o.ack_ms for o in outcomes if o.ack_ms is not None]
    e2e = [(o.last_reply_at - o.sent_at) * 1000 for o in outcomes if o.last_reply_at is not None]
    first = [
        (o.first_reply_at - o.sent_at) * 1000 for o in outcomes if o.first_reply_at is not None
    ]
    # command → its answer's last message, for answered commands only (no notes)
    answers = [e for o, e in zip(_with_reply(outcomes), e2e, strict=True) if o.right]
    sent = len(outcomes)
    replied = sum(1 for o in outcomes if o.replied)
    starts = [o.sent_at for o in outcomes if o.sent_at]
    ends = [o.last_reply_at for o in outcomes if o.last_reply_at is not None]
    span = (max(ends) - min(starts)) if starts and ends else 0.0
    send_span = (max(starts) - min(starts)) if len(starts) > 1 else 0.0
    lag = [(o.sent_at - o.scheduled) * 1000 for o in outcomes if o.sent_at and o.scheduled]
    return {
        "sent": sent,
        "offered_rps": (sent - 1) / send_span if send_span > 0 else None,
        "acked": len(acks),
        "ack_errors": sent - len(acks),
        "ack_error_kinds": sorted({o.ack_error for o in outcomes if o.ack_error}),
        "ack_p50_ms": percentile(acks, 50),
        "ack_p99_ms": percentile(acks, 99),
        "ack_max_ms": max(all_ack_times) if all_ack_times else None,
        # a timed-out ack (10 s) is one Slack never got in time either
        "acks_over_3s": sum(
            1 for o in outcomes if o.ack_ms is None or o.ack_ms > SLACK_ACK_LIMIT_MS
        ),
        "replied": replied,
        "lost": sent - replied,
        "wrong_replies": sum(1 for o in outcomes if o.replied and not o.right),
        # no post with the expected words by the deadline (notes alone do not answer)
        "unanswered": sum(1 for o in outcomes if not o.right),
        "e2e_p50_ms": percentile(e2e, 50),
        "e2e_p99_ms": percentile(e2e, 99),
        "e2e_max_ms": max(e2e) if e2e else None,
        "answer_p50_ms": percentile(answers, 50),
        "answer_p99_ms": percentile(answers, 99),
        "first_message_p50_ms": percentile(first, 50),
        "messages_per_reply": (
            sum(sum(1 for p in o.posts if p.status == 200) for o in outcomes) / replied
            if replied
            else None
        ),
        "achieved_rps": replied / span if span > 0 else None,
        "answers_per_s": _answers_per_s(outcomes),
        "send_lag_p99_ms": percentile(lag, 99),
    }


def _with_reply(outcomes: Sequence[Outcome]) -> list[Outcome]:
    return [o for o in outcomes if o.last_reply_at is not None]


def _answers_per_s(outcomes: Sequence[Outcome]) -> float | None:
    """Answers (not notes) per second, from the first send to the last answer."""
    answered = [o for o in outcomes if o.right and o.last_reply_at is not None]
    starts = [o.sent_at for o in outcomes if o.sent_at]
    if not answered or not starts:
        return None
    span = max(o.last_reply_at or 0.0 for o in answered) - min(starts)
    return len(answered) / span if span > 0 else None


def phases(
    outcomes: Sequence[Outcome], calls: Sequence[Call], ekuaibao_latency_ms: float
) -> dict[str, Any]:
    """Where the time of a lookup goes, from the Ekuaibao stand-in's arrival times.

    * dispatch: command sent → its first Ekuaibao call arrives (ack, broker, worker pickup,
      everything the worker does before calling Ekuaibao);
    * spread: first → last of its Ekuaibao calls arrives (0 when they go out together;
      one round trip when they are sequential);
    * after: the last call's answer (arrival + the stand-in's latency) → the reply arrives at
      Slack (transfer, JSON parsing, assembly, rendering, bookkeeping, the post).
    """
    by_key: dict[str, list[float]] = {}
    for call in calls:
        if call.ids_key:
            by_key.setdefault(call.ids_key, []).append(call.at)
    dispatch, spread, after, n_calls = [], [], [], []
    for o in outcomes:
        times = by_key.get(o.ids_key) if o.ids_key else None
        if not times or o.last_reply_at is None:
            continue
        first, last = min(times), max(times)
        dispatch.append((first - o.sent_at) * 1000)
        spread.append((last - first) * 1000)
        after.append((o.last_reply_at - last) * 1000 - ekuaibao_latency_ms)
        n_calls.append(len(times))
    return {
        "matched": len(dispatch),
        "ekuaibao_calls_per_reply": sum(n_calls) / len(n_calls) if n_calls else None,
        **{
            f"{name}_{q}_ms": percentile(values, int(q[1:]))
            for name, values in (("dispatch", dispatch), ("spread", spread), ("after", after))
            for q in ("p50", "p99")
        },
    }


# -- CPU accounting -------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            raw = f.read()
    except OSError:
        return None
    # the command name may hold spaces: fields start after the last ')'
    return raw[raw.rfind(")") + 2 :].split()


def descendants(root: int) -> list[int]:
    """`root` and every live process below it."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fields = _stat(int(name))
        if fields is None:
            continue
        children.setdefault(int(fields[1]), []).append(int(name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_seconds(pid: int) -> float:
    """user + system CPU of one process (all its threads) and its reaped children."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    # fields[11..14] = utime, stime, cutime, cstime (proc(5) fields 14-17)
    return sum(int(x) for x in fields[11:15]) / _TICK


def tree_cpu(roots: Sequence[int]) -> dict[int, float]:
    """CPU seconds of every live process under `roots`, per pid."""
    return {pid: cpu_seconds(pid) for root in roots for pid in descendants(root)}


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two `tree_cpu` snapshots (a process born meanwhile counts whole)."""
    return sum(after[pid] - before.get(pid, 0.0) for pid in after)


def machine_busy_seconds() -> float:
    """CPU time spent by the whole machine (all CPUs, every process, the kernel), from
    /proc/stat: to see how much CPU went to processes that are not part of the benchmark."""
    with open("/proc/stat", encoding="ascii") as f:
        fields = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / _TICK


def find_process(comm: str) -> int | None:
    """The pid of a process by its exact command name (to read Redis's CPU), or None."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/comm", encoding="utf-8") as f:
                if f.read().strip() == comm:
                    return int(name)
        except OSError:
            continue
    return None
