"""Start-up refuses bad settings with one line naming the setting, and exit status 2."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from tests import services
from tests.integration.conftest import require_redis
from tests.integration.harness import free_port


def clean_env(tmp_path, **env: str) -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "EKUAIBAO_", "CELERY_", "WORKER_", "ACCESS_", "ALLOWED_"))
    }
    clean.update(STATE_DIR=str(tmp_path), **env)
    return clean


def run(args: list[str], tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        env=clean_env(tmp_path, **env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["-m", "bot.cli", "serve", "--http"], {}, "SLACK_BOT_TOKEN is missing"),
        (
            ["-m", "bot.cli", "serve", "--http"],
            {"SLACK_BOT_TOKEN": "xoxb-1"},
            "SLACK_SIGNING_SECRET is missing",
        ),
        (
            ["-m", "bot.cli", "serve", "--http"],
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"},
            "EKUAIBAO_APP_KEY is missing",
        ),
        (["-m", "bot.cli", "serve"], {"SLACK_BOT_TOKEN": "oops"}, "SLACK_BOT_TOKEN is invalid"),
        (["-m", "bot.cli", "worker"], {}, "EKUAIBAO_APP_KEY is missing"),
        (
            ["-m", "bot.cli", "worker"],
            {
                "EKUAIBAO_APP_KEY": "k",
                "EKUAIBAO_APP_SECURITY": "s",
                "CELERY_BROKER_URL": "kafka://x",
            },
            "CELERY_BROKER_URL is invalid",
        ),
        (
            ["-m", "celery", "-A", "tasks", "worker", "-P", "threads"],
            {},
            "EKUAIBAO_APP_KEY is missing",
        ),
    ],
)
def test_bad_settings_stop_startup_with_one_line(tmp_path, args, env, named) -> None:
    result = run([sys.executable, *args], tmp_path, **env)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("invoicebot:")]
    assert len(lines) == 1 and named in lines[0]
    assert "Traceback" not in result.stderr
    for value in env.values():
        if value not in ("s", "k"):
            assert value not in lines[0]


def test_socket_mode_with_a_refused_app_token_says_so(tmp_path) -> None:
    from sandbox.slack import SlackStandIn

    with SlackStandIn() as slack:
        result = run(
            [sys.executable, "-m", "bot.cli", "serve", "--no-worker"],
            tmp_path,
            SLACK_BOT_TOKEN="xoxb-sandbox-token",
            SLACK_APP_TOKEN="xapp-1-refused",
            SLACK_API_URL=slack.api_url,
        )
        assert [c.method for c in slack.api_calls] == ["apps.connections.open"]
    assert result.returncode == 2
    assert "Slack refused SLACK_APP_TOKEN (invalid_auth)" in result.stderr
    assert "xapp-1-refused" not in result.stderr + result.stdout


# --- start-up failures that are not settings: the port, the broker ---------------------

SERVE_ENV = {
    "SLACK_BOT_TOKEN": "xoxb-sandbox-token",
    "SLACK_SIGNING_SECRET": "sandbox-secret",
    "EKUAIBAO_APP_KEY": "sandbox-app-key",
    "EKUAIBAO_APP_SECURITY": "sandbox-app-security",
}


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The command's single `invoicebot:` line; nothing else on stderr, no traceback."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("invoicebot: "), result.stderr
    return lines[0]


def test_serve_on_a_port_in_use_says_so_and_starts_no_worker(tmp_path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(
            [sys.executable, "-m", "bot.cli", "serve", "--http", "--port", str(port), "--worker"],
            tmp_path,
            **SERVE_ENV,
        )
    assert result.returncode == 2
    assert one_line(result) == (
        f"invoicebot: port {port} is already in use on 127.0.0.1: stop the other process "
        "or pass --port"
    )
    assert result.stdout == ""  # no worker child was started (it would print its banner)


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A TCP server that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


@pytest.mark.parametrize("scheme", ["redis", "amqp"])
@pytest.mark.parametrize("how", ["closed port", "never answers"])
def test_serve_with_a_broker_that_does_not_answer_stops_with_one_line(
    tmp_path, scheme: str, how: str
) -> None:
    with contextlib.ExitStack() as stack:
        port = free_port() if how == "closed port" else stack.enter_context(silent_server())
        url = f"{scheme}://invoicebot:pw-{port}@127.0.0.1:{port}/0"
        started = time.monotonic()
        result = run(
            [sys.executable, "-m", "bot.cli", "serve", "--http", "--port", "0"],
            tmp_path,
            CELERY_BROKER_URL=url,
            **SERVE_ENV,
        )
        took = time.monotonic() - started
    assert result.returncode == 1  # may pass by itself: a service manager should retry
    reason = "connection refused" if how == "closed port" else "no answer in 3 s"
    assert one_line(result) == (
        f"invoicebot: the broker at {scheme}://127.0.0.1:{port}/0 is not answering "
        f"({reason}): start it, or check CELERY_BROKER_URL"
    )
    assert f"pw-{port}" not in result.stdout + result.stderr
    assert took < 15, took


def rabbitmq_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


def refused_url(broker: str) -> str:
    """Credentials the local broker refuses. Only a failed login: nothing is read or
    written on either broker."""
    if broker == "rabbitmq":
        if not rabbitmq_reachable():
            pytest.skip("RabbitMQ is not reachable on 127.0.0.1:5672")
        return "amqp://guest:wrong-pass@127.0.0.1:5672//"
    require_redis()
    return f"redis://nobody:wrong-pass@127.0.0.1:{services.REDIS_PORT}/{services.SPARE_DB}"  # an ACL user that does not exist


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
@pytest.mark.parametrize("command", ["serve", "worker"])
def test_refused_broker_credentials_stop_with_one_line(tmp_path, broker: str, command) -> None:
    url = refused_url(broker)
    args = [sys.executable, "-m", "bot.cli", command]
    if command == "serve":
        args += ["--http", "--port", "0"]
    started = time.monotonic()
    result = run(args, tmp_path, CELERY_BROKER_URL=url, **SERVE_ENV)
    assert time.monotonic() - started < 15
    assert result.returncode == 2
    reason = (
        "ACCESS_REFUSED"
        if broker == "rabbitmq"
        else "invalid username-password pair or user is disabled"
    )
    where = url.split("@")[1]
    assert one_line(result) == (
        f"invoicebot: the broker at {url.split('://')[0]}://{where} refused the credentials "
        f"in CELERY_BROKER_URL ({reason}): fix the user name or password"
    )
    assert "wrong-pass" not in result.stdout + result.stderr
    assert "celery" not in result.stdout.lower()  # Celery was never started


def test_a_refusing_rabbitmq_ends_celery_restarts(tmp_path) -> None:
    """After a password change Celery exits at once ("Unrecoverable error"): `invoicebot
    worker` asks the broker, and a refusal ends the restarts."""
    from bot.supervise import broker_refusal

    url = refused_url("rabbitmq")
    reason = broker_refusal(url)(1)
    assert reason is not None and "refused the credentials in CELERY_BROKER_URL" in reason
    assert broker_refusal(f"embedded://{tmp_path}/broker.sqlite3")(1) is None


def test_redis_without_a_password_takes_any_password(tmp_path) -> None:
    """What Redis answers to `redis://:wrong@…` when it has no password: redis-py sends
    HELLO 3 AUTH default <password>, and a `nopass` default user accepts any password.
    So that URL works, for Celery too, and the check must not call it refused."""
    from tasks.broker.check import broker_check

    require_redis()
    assert broker_check(f"redis://:wrong@127.0.0.1:{services.REDIS_PORT}/11", 3).ok


@pytest.mark.parametrize(
    "processes",
    [
        {"WORKER_POOL": "prefork", "WORKER_CONCURRENCY": "2"},
        {"WORKER_POOL": "threads", "WORKER_PROCESSES": "2"},
    ],
    ids=["prefork-pool-of-two", "two-celery-processes"],
)
def test_start_up_says_what_matters_once(tmp_path, processes: dict[str, str]) -> None:
    """No Bolt "token will be unused"; the access warnings once, also with a prefork
    pool of two processes, or two Celery processes."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--http", "--port", str(port), "--worker"],
        env=clean_env(tmp_path, PYTHONUNBUFFERED="1", **processes, **SERVE_ENV),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = read_until(proc, "ready.", timeout=60)
        if "WORKER_PROCESSES" in processes:
            output += read_until(proc, "ready.", timeout=60)  # the second Celery's
        time.sleep(1.0)  # both pool processes have built their clients by now
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
    output += rest
    assert proc.returncode == 0, output
    assert "will be unused" not in output
    assert output.count("ACCESS_MODE=open: anyone in the workspace") == 1, output
    assert output.count("ACCESS_MODE is not set and no allowlist is") == 1, output
    assert "Traceback" not in output


def read_until(proc: subprocess.Popen[str], marker: str, timeout: float) -> str:
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"no {marker!r} in:\n{''.join(seen)}")
