"""CI: a plain `pip install .` (no extras) serves one signed /invoice end to end.

Run by the plain venv's python from a folder outside the repo, so every import comes from
what the install put in site-packages: a run-time import that only a dev package satisfies
fails here. Against the sandbox stand-ins that ship in the wheel, `invoicebot serve --http`
runs on the embedded broker with its worker child (OS threads), then on Redis beside an
`invoicebot worker`, whose default pool there is gevent (a run-time dependency only that
path imports).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from sandbox.ekuaibao import EkuaibaoStandIn
from sandbox.signing import slash_command
from sandbox.slack import SlackStandIn

MEAL = "0aM9AbvdhI0400:011001900111:07517347"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def main() -> int:
    # A Redis of its own (no other run's keys, side by side with another checkout's CI).
    port = free_port()
    folder = tempfile.mkdtemp(prefix="plain-install-redis-")
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    args += ["--appendonly", "no", "--dir", folder]
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not answers(port):
            assert time.monotonic() < deadline and server.poll() is None, "no redis-server"
            time.sleep(0.05)
        redis_url = f"redis://127.0.0.1:{port}/0"
        for broker, name in ((None, "embedded broker, threads"), (redis_url, "Redis, gevent")):
            ack_ms, reply_ms = serve_one(broker)
            print(
                f"plain install ({name}): /invoice acked in {ack_ms:.0f} ms, "
                f"answered in {reply_ms:.0f} ms, stopped cleanly"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def serve_one(broker: str | None) -> tuple[float, float]:
    invoicebot = os.path.join(os.path.dirname(sys.executable), "invoicebot")
    assert os.path.exists(invoicebot), "run this with the plain venv's python"
    folder = tempfile.mkdtemp(prefix="plain-install-")
    port, secret = free_port(), "plain-install-signing-secret"
    with EkuaibaoStandIn() as ekuaibao, SlackStandIn() as slack:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "EKUAIBAO_"))}
        env.update(
            SLACK_BOT_TOKEN="xoxb-sandbox-token",
            SLACK_SIGNING_SECRET=secret,
            SLACK_API_URL=slack.api_url,
            SLACK_RESPONSE_URL_PREFIXES=slack.response_url_prefix,
            EKUAIBAO_BASE_URL=ekuaibao.base_url,
            EKUAIBAO_APP_KEY="sandbox-app-key",
            EKUAIBAO_APP_SECURITY="sandbox-app-security",
            STATE_DIR=os.path.join(folder, "state"),
            PYTHONUNBUFFERED="1",
        )
        env.pop("CELERY_BROKER_URL", None)
        env.pop("STATE_REDIS_URL", None)
        env.pop("WORKER_POOL", None)
        if broker is not None:
            env["CELERY_BROKER_URL"] = broker
        log_path = os.path.join(folder, "serve.log")
        # The embedded broker's `serve` runs its worker as a child; on Redis, as in
        # production, `invoicebot worker` is its own process.
        worker_log = log_path if broker is None else os.path.join(folder, "worker.log")
        procs = [
            _start([invoicebot, "serve", "--http", "--port", str(port)], env, folder, log_path)
        ]
        if broker is not None:
            procs.append(_start([invoicebot, "worker"], env, folder, worker_log))
        proc = procs[0]
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"serve did not become ready:\n{Path(log_path).read_text()}")
                try:
                    if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            response_url = slack.new_response_url()
            body, headers = slash_command(secret, MEAL, response_url)
            started = time.perf_counter()
            ack = httpx.post(f"{base}/slack/events", content=body, headers=headers, timeout=5)
            ack_ms = (time.perf_counter() - started) * 1000
            assert ack.status_code == 200 and "Looking up" in ack.text, ack.text
            [post] = slack.wait_for_posts(response_url, 1, timeout=60)
            reply_ms = (time.perf_counter() - started) * 1000
            assert "¥452.00" in str(post.body), post.body
        finally:
            for each in procs:
                each.send_signal(signal.SIGTERM)
            codes = [each.wait(timeout=30) for each in procs]
        assert codes == [0] * len(procs), f"exited {codes}:\n{Path(log_path).read_text()}"
    pool = "gevent" if broker else "thread"  # as Celery's banner names them
    assert f"concurrency: 64 ({pool})" in Path(worker_log).read_text(), f"not the {pool} pool"
    shutil.rmtree(folder, ignore_errors=True)
    return ack_ms, reply_ms


def _start(
    argv: list[str], env: dict[str, str], cwd: str, log_path: str
) -> subprocess.Popen[bytes]:
    with open(log_path, "wb") as log:
        return subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)


if __name__ == "__main__":
    sys.exit(main())
