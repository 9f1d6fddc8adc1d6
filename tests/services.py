"""The Redis and RabbitMQ a pytest process tests against, its own.

Each process (each `pytest -n` worker, each checkout's run) gets a private `redis-server`
(no persistence) on a free port and a RabbitMQ virtual host of its own on the machine's
broker, so no test sees another's queues, keys or lookups: `pytest -n auto` is safe, and
two clones can run CI side by side. Both start on first use (a unit run starts neither)
and go when the process ends. Without `redis-server` or `rabbitmqctl` on PATH (a laptop
with a broker in a container), the machine's own 127.0.0.1:6379 and vhost `/` are used,
and runs must not overlap.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

#: The databases each test module uses, on the private server.
BROKER_DB, STATE_DB, SPARE_DB, DOCTOR_DB, BUDGET_DB = 9, 10, 11, 12, 13
RABBITMQ_PORT = 5672
_REDIS_SERVER = shutil.which("redis-server")
_RABBITMQCTL = shutil.which("rabbitmqctl")


#: Below Linux's ephemeral range (32768-60999), where every stand-in's port-0 listener and
#: every outgoing connection lands: a port picked from that range at import could be handed
#: to another server before this process's Redis starts on first use.
_PRIVATE_PORTS = range(20000, 32000)


def _free_port() -> int:
    """A port of this process's own (its pid picks where to start), free when asked."""
    start = os.getpid() % len(_PRIVATE_PORTS)
    for step in range(len(_PRIVATE_PORTS)):
        port = _PRIVATE_PORTS[(start + step) % len(_PRIVATE_PORTS)]
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port for a private Redis")


REDIS_PORT = _free_port() if _REDIS_SERVER else 6379
VHOST = f"invoicebot-test-{os.getpid()}" if _RABBITMQCTL else "/"
RABBITMQ_URL = f"amqp://guest:guest@127.0.0.1:{RABBITMQ_PORT}/{VHOST}"


def redis_url(db: int) -> str:
    return f"redis://127.0.0.1:{REDIS_PORT}/{db}"


def reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


_lock = threading.Lock()
_redis: subprocess.Popen[bytes] | None = None
_vhost_made = False


def redis_up() -> bool:
    """Whether this process's Redis answers, starting it on first use."""
    global _redis
    with _lock:
        if _REDIS_SERVER and _redis is None:
            folder = Path(tempfile.mkdtemp(prefix="invoicebot-test-redis-"))
            args = [_REDIS_SERVER, "--port", str(REDIS_PORT), "--bind", "127.0.0.1"]
            args += ["--save", "", "--appendonly", "no", "--dir", str(folder)]
            log = (folder / "redis.log").open("ab")
            _redis = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
            atexit.register(_stop_redis, _redis)
            deadline = time.monotonic() + 10
            while not reachable(REDIS_PORT) and time.monotonic() < deadline:
                if _redis.poll() is not None:
                    return False
                time.sleep(0.02)
        if _redis is not None and _redis.poll() is not None:
            return False  # it could not bind: whatever listens there is not our Redis
    return _answers_ping(REDIS_PORT)


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _stop_redis(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    if proc.poll() is None:
        proc.kill()


def rabbitmq_up() -> bool:
    """Whether RabbitMQ answers with this process's vhost, making the vhost on first use."""
    global _vhost_made
    if not reachable(RABBITMQ_PORT):
        return False
    with _lock:
        if _RABBITMQCTL and not _vhost_made:
            try:
                _ctl("add_vhost", VHOST)
                _ctl("set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*")
            except (OSError, subprocess.SubprocessError):
                return False  # rabbitmqctl may not manage this broker (not root, no cookie)
            _vhost_made = True
            atexit.register(_drop_vhost)
    return True


def _drop_vhost() -> None:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        _ctl("delete_vhost", VHOST)


def _ctl(*args: str) -> None:
    assert _RABBITMQCTL is not None
    subprocess.run([_RABBITMQCTL, "-q", *args], check=True, capture_output=True, timeout=60)
