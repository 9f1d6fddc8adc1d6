"""What a listener of `invoicebot serve` spends on a stranger, in HTTP mode and in Socket
Mode's small HTTP side: a body over the cap is refused before it is read, and idle or
slow connections neither crowd out a fresh request nor stay open past the idle timeout."""

from __future__ import annotations

import os
import secrets
import select
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from sandbox.ekuaibao import EkuaibaoStandIn
from sandbox.slack import SlackStandIn
from sandbox.socket_mode import SocketModeStandIn
from tests.integration.harness import Command, free_port, start_bot, start_socket_bot

TOKEN = secrets.token_urlsafe(24)
IDLE_S = 2
SLOW_CLIENTS = 120
#: Under waitress's own default cap (1 GiB), which refuses 1 GiB itself.
GIB = 1024**3 - 1


@dataclass
class Listener:
    mode: str
    port: int
    pid: int
    tmp: Path
    #: A signed slash command (HTTP mode; Socket Mode's commands do not come over HTTP).
    command: Callable[[str], Command] | None

    @property
    def events_path(self) -> str:
        return f"/ekuaibao/events/{TOKEN}"


@pytest.fixture(scope="module", params=["http", "socket"])
def listener(
    request: pytest.FixtureRequest,
    ekuaibao: EkuaibaoStandIn,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Listener]:
    folder = tmp_path_factory.mktemp(f"limits-{request.param}")
    tmp = folder / "tmp"
    tmp.mkdir()
    extra = {"EKUAIBAO_EVENTS_TOKEN": TOKEN, "HTTP_IDLE_TIMEOUT_S": str(IDLE_S)}
    extra["TMPDIR"] = str(tmp)  # where waitress would spill a body it buffers
    if request.param == "http":
        with SlackStandIn() as slack:
            bot = start_bot(ekuaibao, slack, folder, broker=None, **extra)
            yield Listener("http", bot.port, bot.proc.pid, tmp, bot.command)
            bot.stop()
        return
    with SocketModeStandIn() as socket_mode, SlackStandIn(socket_mode=socket_mode) as slack:
        port = free_port()
        socket_bot = start_socket_bot(ekuaibao, slack, folder, port=port, **extra)
        wait_until(lambda: _answers(port), 10, "the Socket Mode side server")
        yield Listener("socket", port, socket_bot.proc.pid, tmp, None)
        socket_bot.stop()


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"waited {timeout} s for {what}")


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/livez", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def spilled_bytes(pid: int, tmp: Path) -> int:
    """Bytes in the files the process holds open under `tmp` (deleted ones included)."""
    total = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd).startswith(str(tmp)):
                total += fd.stat().st_size
        except OSError:
            continue
    return total


def test_a_body_over_the_cap_is_refused_before_it_is_read(listener: Listener) -> None:
    rss_before = rss_bytes(listener.pid)
    sent, answer = 0, b""
    chunk = b"x" * 65536
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as sock:
        sock.sendall(
            f"POST {listener.events_path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {GIB}\r\n\r\n".encode()
        )
        try:  # stream up to 64 MiB of the promised GiB, listening for the answer
            while sent < 64 * 1024 * 1024 and not answer:
                sock.sendall(chunk)
                sent += len(chunk)
                if select.select([sock], [], [], 0)[0]:
                    answer = sock.recv(4096)
        except OSError:  # the server closed the connection: it stopped reading
            pass
        if not answer:
            try:
                answer = sock.recv(4096)
            except OSError:
                answer = b""
    elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 413"), (answer[:80], sent)
    assert elapsed < 5, f"refused after {elapsed:.1f} s and {sent} bytes"
    assert sent < 64 * 1024 * 1024, "the server kept reading a body it refused"
    assert spilled_bytes(listener.pid, listener.tmp) == 0
    assert rss_bytes(listener.pid) - rss_before < 16 * 1024 * 1024


def test_slow_clients_neither_crowd_out_a_fresh_request_nor_stay(listener: Listener) -> None:
    slow: list[socket.socket] = []
    opened = time.monotonic()
    try:
        for n in range(SLOW_CLIENTS):
            sock = socket.create_connection(("127.0.0.1", listener.port), timeout=5)
            if n % 2:  # half dribble the start of a request, half say nothing at all
                sock.sendall(f"POST {listener.events_path} HTTP/1.1\r\n".encode())
            slow.append(sock)
        started = time.monotonic()
        probe = httpx.get(f"http://127.0.0.1:{listener.port}/healthz", timeout=10)
        healthz_s = time.monotonic() - started
        assert probe.status_code == 200
        assert healthz_s < 2.0, f"/healthz took {healthz_s:.2f} s beside {SLOW_CLIENTS} idle"
        if listener.command is not None:
            ack = listener.command("djg8LshfUkfM00:033002100311:23272058")
            assert ack.ack.status_code == 200 and ack.ack_ms < 2000, ack.ack_ms
        # every idle connection is closed by the server within the idle timeout (plus
        # one cleanup round): recv() answers b"" once it is
        open_ = list(slow)

        def all_closed() -> bool:
            readable = select.select(open_, [], [], 0)[0]
            for sock in readable:
                try:
                    data = sock.recv(4096)
                except OSError:
                    data = b""
                if not data or data.startswith(b"HTTP/1.1 "):
                    open_.remove(sock)
            return not open_

        wait_until(all_closed, IDLE_S + 5, f"the server to close {len(open_)} idle connections")
        closed_s = time.monotonic() - opened
        assert closed_s >= IDLE_S * 0.9, f"closed after {closed_s:.1f} s, before the timeout"
    finally:
        for sock in slow:
            sock.close()
