"""CI: a plain `pip install .` (no extras) serves one signed /invoice end to end.

Run by the plain venv's python from a folder outside the repo, so every import comes from
what the install put in site-packages: a run-time import that only a dev package satisfies
fails here. `invoicebot serve --http` runs on the embedded broker with its worker child,
against the sandbox stand-ins that ship in the wheel.
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
            EKUAIBAO_BASE_URL=ekuaibao.base_url,
            EKUAIBAO_APP_KEY="sandbox-app-key",
            EKUAIBAO_APP_SECURITY="sandbox-app-security",
            STATE_DIR=os.path.join(folder, "state"),
            PYTHONUNBUFFERED="1",
        )
        env.pop("CELERY_BROKER_URL", None)
        log_path = os.path.join(folder, "serve.log")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [invoicebot, "serve", "--http", "--port", str(port)],
                env=env,
                cwd=folder,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
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
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=30)
        assert code == 0, f"serve exited {code}:\n{Path(log_path).read_text()}"
    print(
        f"plain install: /invoice acked in {ack_ms:.0f} ms, answered in {reply_ms:.0f} ms, "
        "serve stopped cleanly"
    )
    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
