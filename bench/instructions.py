"""Instructions the worker spends on one lookup, counted by callgrind: a CPU figure that does
not move with the machine's load or clock, for telling apart changes of a few per cent.

    python -m bench.instructions [--lookups 50] [--warm-up 20] [--log-level INFO]
                                 [--systems ours,peer,ours-bot,peer-bot]

For each system, runs this module twice under ``valgrind --tool=callgrind`` (every thread
of the process is counted): once with only the warm-up, once with ``--lookups`` more,
against the bench's stand-ins (Ekuaibao answering in 2 ms) and Redis (database 14, or
``BENCH_REDIS_URL``, flushed first). A lookup of ours is one ``handle_lookup`` of 5 VAT ids
on the worker's real dependencies (``tasks.runtime``); the peer's is its Celery task's body
(``bench/peer_app.py``: the same three Ekuaibao calls and a plain-text post), called in
the process. ``ours-bot`` and ``peer-bot`` count the Slack side of the same lookup: one
signed ``/invoice`` of 5 ids through each one's WSGI application (ours: Bolt with every
listener, as ``invoicebot serve --http`` builds it; the peer's: its signature check and
``apply_async``), published to Redis. The difference over the lookups is the figure: start-up,
imports and the warm-up cancel out. No Celery worker: what is counted is the lookup,
with its log lines at ``--log-level`` (INFO, the default in production) written to a file.
About two minutes a system; valgrind must be on PATH.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def lookups(system: str, count: int, warm_up: int, log_level: str) -> None:
    """The measured process: `warm_up` + `count` lookups, one after another."""
    import redis

    from bench import run
    from bench.standins import StandIns

    folder = Path(tempfile.mkdtemp(prefix="ekb-instructions-"))
    standins = StandIns.start(folder / "standins.log", ekuaibao_latency_ms=2, slack_latency_ms=1)
    try:
        env = run.app_env(standins, "s" * 32)
        env.update(
            EKUAIBAO_RATE_LIMIT=run.RATE_LIMIT,
            EKUAIBAO_RATE_BURST=run.RATE_BURST,
            STATE_DIR=str(folder / "state"),
            CELERY_BROKER_URL=REDIS_URL,
            LOG_LEVEL=log_level,
        )
        os.environ.clear()
        os.environ.update(env)
        redis.Redis.from_url(REDIS_URL).flushdb()
        logging.basicConfig(filename=folder / "lookups.log")
        makers = {"ours": ours, "peer": peer, "ours-bot": ours_bot, "peer-bot": peer_bot}
        one = makers[system](log_level)
        ids = standins.invoice_ids
        urls = standins.response_urls(warm_up + count)
        for n in range(warm_up + count):
            first = (n * 5) % (len(ids) - 5)
            one(n, list(ids[first : first + 5]), urls[n])
    finally:
        standins.stop()


def ours(log_level: str) -> Callable[[int, list[str], str], None]:
    """One `handle_lookup` on the worker's real dependencies; each user's locale is read in
    the warm-up, as a warm worker has it."""
    from bench.standins import bench_user_ids
    from tasks import runtime
    from tasks.contracts import LookupRequest
    from tasks.lookup.service import handle_lookup
    from tasks.redact import configure_logging

    configure_logging(log_level)
    deps = runtime.deps()
    users = bench_user_ids(20)

    def one(n: int, ids: list[str], response_url: str) -> None:
        request = LookupRequest(
            ids=tuple(ids),
            user_id=users[n % len(users)],
            team_id="T0SANDBOX",
            channel_id="C0SANDBOX",
            response_url=response_url,
        )
        handle_lookup(request, deps, redelivered=False)

    return one


def peer(log_level: str) -> Callable[[int, list[str], str], None]:
    """The peer's Celery task body (`bench/peer_app.py`), called in this process."""
    from bench import peer_app

    def one(n: int, ids: list[str], response_url: str) -> None:
        peer_app.lookup.run(ids, response_url)

    return one


def ours_bot(log_level: str) -> Callable[[int, list[str], str], None]:
    """`invoicebot serve --http`'s WSGI application, publishing with the bot's settings."""
    from bot.app import build_app
    from bot.enqueue import celery_enqueue, warm_up
    from bot.http import wsgi_app
    from tasks.celery_app import app as celery
    from tasks.celery_app import bound_publishing
    from tasks.redact import configure_logging
    from tasks.settings import load_settings

    configure_logging(log_level)
    settings = load_settings()
    bound_publishing(celery, settings)
    warm_up(celery)
    enqueue = celery_enqueue(celery, settings.decision_key, settings.slack_response_url_prefixes)
    return wsgi_caller(wsgi_app(build_app(settings, enqueue)), os.environ["SLACK_SIGNING_SECRET"])


def peer_bot(log_level: str) -> Callable[[int, list[str], str], None]:
    """The peer's WSGI application (`bench/peer_app.py`)."""
    from bench import peer_app

    secret = os.environ["SLACK_SIGNING_SECRET"]
    return wsgi_caller(peer_app.make_wsgi(secret), secret)


def wsgi_caller(
    application: Callable[..., Iterable[bytes]], secret: str
) -> Callable[[int, list[str], str], None]:
    """One signed `/invoice` through `application`, as waitress would hand it over; 20 users
    round-robin, each one's locale read in the warm-up."""
    from bench.standins import bench_user_ids
    from sandbox.signing import slash_command

    users = bench_user_ids(20)

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        if not status.startswith("200"):
            raise RuntimeError(f"the app answered {status}")

    def one(n: int, ids: list[str], response_url: str) -> None:
        body, headers = slash_command(secret, " ".join(ids), response_url, user_id=users[n % 20])
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/slack/events",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "3000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_TYPE": headers["Content-Type"],
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_X_SLACK_REQUEST_TIMESTAMP": headers["X-Slack-Request-Timestamp"],
            "HTTP_X_SLACK_SIGNATURE": headers["X-Slack-Signature"],
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
        }
        b"".join(application(environ, start_response))

    return one


def counted(system: str, count: int, warm_up: int, log_level: str, folder: Path) -> int:
    """Instructions of one run under callgrind, every thread."""
    out = folder / f"callgrind.{system}.{count}.out"
    subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "bench.instructions",
            "--child",
            str(count),
            "--system",
            system,
            "--warm-up",
            str(warm_up),
            "--log-level",
            log_level,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=(folder / f"valgrind.{system}.{count}.log").open("wb"),
        cwd=Path(__file__).resolve().parents[1],
    )
    for line in out.read_text(errors="replace").splitlines():
        if line.startswith("summary:") or line.startswith("totals:"):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("--lookups", type=int, default=50)
    parser.add_argument("--warm-up", type=int, default=20)
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument(
        "--systems", default="ours,peer", help="any of ours, peer, ours-bot, peer-bot"
    )
    parser.add_argument("--system", default="ours", help=argparse.SUPPRESS)
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        lookups(args.system, args.child, args.warm_up, args.log_level)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not on PATH", file=sys.stderr)
        return 2
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="ekb-callgrind-") as tmp:
        folder = Path(tmp)
        for system in args.systems.split(","):
            base = counted(system, 0, args.warm_up, args.log_level, folder)
            total = counted(system, args.lookups, args.warm_up, args.log_level, folder)
            figures[system] = (total - base) / args.lookups
            print(
                f"{system}: {figures[system] / 1e6:.2f} M instructions a lookup "
                f"(5 VAT ids, {args.lookups} lookups, log level {args.log_level})",
                flush=True,
            )
    for side in ("", "-bot"):
        if f"ours{side}" in figures and f"peer{side}" in figures:
            ratio = figures[f"ours{side}"] / figures[f"peer{side}"]
            print(f"ours{side} ÷ peer{side}: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
