"""SIGTERM like a service manager sends it: nothing in flight is lost or answered twice.

The real `invoicebot serve` and `invoicebot worker` on the embedded broker, with the
Ekuaibao stand-in slowed down so that a lookup is really running when the signal comes.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from sandbox.ekuaibao import EkuaibaoStandIn
from sandbox.signing import slash_command
from sandbox.slack import SlackStandIn
from tasks.shared.texts import texts_for
from tests.integration.harness import RunningBot, bot_env, start_bot, start_worker

MEAL = "0aM9AbvdhI0400:011001900111:07517347"
#: Ekuaibao calls must outlast the slowed stand-in, or the lookup would time out instead.
SLOW_OK = {"EKUAIBAO_TIMEOUT_S": "10"}


def wait_for_log(path: Path, marker: str, timeout: float, count: int = 1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text(errors="replace").count(marker) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"no {marker!r} in {path}:\n{path.read_text(errors='replace')}")


RETRYING = texts_for("en").retrying.split("{", 1)[0]


def answers(slack: SlackStandIn, response_url: str) -> int:
    """Final answers: a "still trying" note (a call that failed under load) is not one."""
    return sum(
        1
        for post in slack.posts_for(response_url)
        if post.status == 200 and not str(post.body.get("text", "")).startswith(RETRYING)
    )


def rescue_worker(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, folder: Path
) -> subprocess.Popen[bytes]:
    """A second worker on the same broker: it answers whatever the first one handed back."""
    env = bot_env(ekuaibao, bot.slack, folder / "state", None, bot.secret, **SLOW_OK)
    log = folder / "rescue-worker.log"
    worker = start_worker(env, log)
    wait_for_log(log, "ready.", 60)
    return worker


def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=60)


def test_sigterm_to_a_worker_with_lookups_in_flight_loses_none(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    """One lookup running (finished during the warm shutdown) and one still queued (left
    to the next worker, or, when the worker had already taken it as the first ended,
    finished in the same warm shutdown): each answered exactly once, and the worker exits 0."""
    bot = start_bot(ekuaibao, slack, tmp_path, broker=None, worker=False, **SLOW_OK)
    env = bot_env(
        ekuaibao, slack, tmp_path / "state", None, bot.secret, WORKER_CONCURRENCY="1", **SLOW_OK
    )
    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    rescue = None
    try:
        wait_for_log(log, "ready.", 60)
        ekuaibao.delay_s = 1.5  # a lookup: token, then three calls at once: ~3 s
        running, queued = bot.command(MEAL), bot.command(MEAL)
        assert running.ack.status_code == queued.ack.status_code == 200
        time.sleep(1.0)
        assert answers(slack, running.response_url) == 0  # still in flight
        started = time.monotonic()
        worker.send_signal(signal.SIGTERM)  # the main process only, as KillMode=mixed does
        assert worker.wait(timeout=60) == 0
        took = time.monotonic() - started
        assert answers(slack, running.response_url) == 1, "the running lookup was finished"
        assert took < 15, took
        finished_in_shutdown = answers(slack, queued.response_url) == 1

        ekuaibao.delay_s = 0.0
        rescue = rescue_worker(bot, ekuaibao, tmp_path)
        if not finished_in_shutdown:
            slack.wait_for_posts(queued.response_url, 1, timeout=30)
        time.sleep(2.0)  # room for a duplicate, were there one
        assert answers(slack, running.response_url) == 1
        assert answers(slack, queued.response_url) == 1
        assert "Traceback" not in log.read_text(errors="replace")
    finally:
        if worker.poll() is None:
            worker.kill()
        if rescue is not None:
            stop(rescue)
        bot.stop()


def raw_request(port: int, body: bytes, headers: dict[str, str]) -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = (
        f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        f"Connection: close\r\n{head}\r\n"
    ).encode() + body
    return sock, request


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_sigterm_to_serve_finishes_a_request_in_flight_and_refuses_new_ones(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    bot = start_bot(ekuaibao, slack, tmp_path, broker=None, worker=True, **SLOW_OK)
    rescue = None
    try:
        url = slack.new_response_url()
        body, headers = slash_command(bot.secret, MEAL, url)
        sock, request = raw_request(bot.port, body, headers)
        sock.sendall(request[:-20])  # the client is still sending when the signal comes
        time.sleep(0.3)
        bot.proc.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", bot.port), timeout=2)
        sock.sendall(request[-20:])
        response = read_all(sock)
        sock.close()
        assert response.startswith(b"HTTP/1.1 200 "), response[:200]
        assert b"Looking up" in response
        assert bot.proc.wait(timeout=60) == 0
        rescue = rescue_worker(bot, ekuaibao, tmp_path)
        slack.wait_for_posts(url, 1, timeout=30)
        time.sleep(1.5)
        assert answers(slack, url) == 1
        assert "Traceback" not in bot.log()
    finally:
        if rescue is not None:
            stop(rescue)
        bot.stop()


def test_sigterm_to_serve_under_traffic_acks_fully_or_refuses(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    """Commands sent while serve stops: each gets its whole ack or a refused connection,
    never a connection cut after the request was read; every ack gets one answer."""
    bot = start_bot(ekuaibao, slack, tmp_path, broker=None, worker=True)
    acked: list[str] = []
    refused: list[str] = []
    cut: list[tuple[str, str]] = []
    signalled = threading.Event()
    lock = threading.Lock()

    def send() -> None:
        refusals_after_signal = 0
        while refusals_after_signal < 3:
            url = slack.new_response_url()
            body, headers = slash_command(bot.secret, MEAL, url)
            try:
                ack = httpx.post(bot.events_url, content=body, headers=headers, timeout=10)
            except httpx.ConnectError:
                with lock:
                    refused.append(url)
                if signalled.is_set():
                    refusals_after_signal += 1
                time.sleep(0.01)
                continue
            except httpx.HTTPError as exc:
                with lock:
                    cut.append((url, type(exc).__name__))
                continue
            with lock:
                if ack.status_code == 200 and "Looking up" in ack.text:
                    acked.append(url)
                else:
                    cut.append((url, f"HTTP {ack.status_code}"))

    senders = [threading.Thread(target=send) for _ in range(3)]
    for sender in senders:
        sender.start()
    rescue = None
    try:
        deadline = time.monotonic() + 30
        while len(acked) < 10:  # real traffic first: ten commands acked, then the signal
            assert time.monotonic() < deadline, (len(acked), len(refused), cut)
            time.sleep(0.01)
        bot.proc.send_signal(signal.SIGTERM)
        signalled.set()
        for sender in senders:
            sender.join(timeout=60)
        assert bot.proc.wait(timeout=60) == 0
        assert cut == []
        rescue = rescue_worker(bot, ekuaibao, tmp_path)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(answers(slack, u) == 0 for u in acked):
            time.sleep(0.1)
        time.sleep(1.5)
        assert [answers(slack, u) for u in acked] == [1] * len(acked)
        assert [answers(slack, u) for u in refused] == [0] * len(refused)
    finally:
        if rescue is not None:
            stop(rescue)
        bot.stop()
