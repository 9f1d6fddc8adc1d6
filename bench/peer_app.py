"""The peer: a minimal hand-built Celery bot doing the same Ekuaibao work as ours.

What a competent engineer writes in an afternoon: a WSGI app (waitress, 16 threads) on
``POST /slack/events`` that verifies Slack's signature, enqueues one Celery task with plain
JSON (the ids and the response_url) on Redis and acknowledges at once; and, in the same
module, the Celery task, run as
``celery -A bench.peer_app worker --pool prefork --concurrency 16``. The task makes the
three calls ours makes for a lookup (``detailBatch``, ``INVOICE/url`` and the invoice master
search) concurrently and posts a plain-text reply to the response_url.

Each worker process fetches the Ekuaibao token once and keeps it, with one keep-alive
``httpx.Client`` and a small thread pool, in module variables made on first use (after the
fork: connections and threads do not survive it). No retries, no rate limit, no per-person
limit, no locale: the comparison is about the work, not the features.

Run the web side with ``python -m bench.peer_app --port 3200``; both sides read
SLACK_SIGNING_SECRET, EKUAIBAO_BASE_URL, EKUAIBAO_APP_KEY, EKUAIBAO_APP_SECURITY and
CELERY_BROKER_URL from the environment (the benchmark points them at 127.0.0.1).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs

import httpx
from celery import Celery
from slack_sdk.signature import SignatureVerifier

TOKEN_PATH = "/api/openapi/v1/auth/getAccessToken"
DETAIL_BATCH_PATH = "/api/openapi/v2/extension/INVOICE/object/invoice/detailBatch"
INVOICE_URL_PATH = "/api/openapi/v2/extension/INVOICE/url"
MASTER_SEARCH_PATH = "/api/openapi/v2/extension/INVOICE/object/invoice/search"
QUEUE = "peer"
_LINE = "E_system_发票明细_"
_MAIN = "E_system_发票主体_"

celery_app = Celery("peer", broker=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/12"))
celery_app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    task_default_queue=QUEUE,
    task_ignore_result=True,
    worker_hijack_root_logger=False,
)
app = celery_app  # `celery -A bench.peer_app` looks for `app`

# -- the worker side: one of each per process, made on first use ---------------------------

_http: httpx.Client | None = None
_pool: ThreadPoolExecutor | None = None
_token: str | None = None
_lock = threading.Lock()


def _client() -> tuple[httpx.Client, ThreadPoolExecutor, str]:
    global _http, _pool, _token
    with _lock:
        if _http is None or _pool is None or _token is None:
            _http = httpx.Client(base_url=os.environ["EKUAIBAO_BASE_URL"], timeout=10)
            _pool = ThreadPoolExecutor(max_workers=3)
            answer = _http.post(
                TOKEN_PATH,
                json={
                    "appKey": os.environ["EKUAIBAO_APP_KEY"],
                    "appSecurity": os.environ["EKUAIBAO_APP_SECURITY"],
                },
            )
            answer.raise_for_status()
            _token = str(answer.json()["value"]["accessToken"])
        return _http, _pool, _token


def _money(value: Any) -> str:
    return str(value.get("standard", "")) if isinstance(value, dict) else "—"


def reply_text(
    ids: list[str], lines: Iterable[Any], links: Iterable[Any], masters: Iterable[Any]
) -> str:
    """Plain text: the count first, then each invoice's total, its lines and links."""
    by_invoice: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in lines:
        by_invoice[str(item.get("masterId"))].append(item)
    links_of: dict[str, int] = defaultdict(int)
    for link in links:
        links_of[str(link.get("id"))] += 1
    master_of = {str(m.get("id")): m for m in masters}
    found = [i for i in ids if i in by_invoice or i in master_of or i in links_of]
    out = [f"Invoice lookup: {len(found)} found, {len(ids) - len(found)} not found."]
    for invoice_id in found:
        master = master_of.get(invoice_id, {})
        out.append(f"{invoice_id}: total {_money(master.get(_MAIN + '价税合计'))}")
        out += [
            f"  {n}. {item.get(_LINE + 'name', '')} · {_money(item.get(_LINE + '金额'))}"
            f" · tax {_money(item.get(_LINE + '税额'))}"
            for n, item in enumerate(by_invoice.get(invoice_id, []), start=1)
        ]
        out.append(f"  {links_of.get(invoice_id, 0)} file link(s)")
    return "\n".join(out)


@celery_app.task(name="peer.lookup")
def lookup(ids: list[str], response_url: str) -> None:
    http, pool, token = _client()
    params = {"accessToken": token}

    def items(path: str, body: dict[str, Any]) -> Callable[[], list[Any]]:
        def call() -> list[Any]:
            answer = http.post(path, params=params, json=body)
            answer.raise_for_status()
            found = answer.json().get("items", [])
            return found if isinstance(found, list) else []

        return call

    calls = [
        pool.submit(items(DETAIL_BATCH_PATH, {"invoiceIds": ids})),
        pool.submit(items(INVOICE_URL_PATH, {"invoiceId": ids})),
        pool.submit(items(MASTER_SEARCH_PATH, {"ids": ids})),
    ]
    lines, links, masters = (c.result() for c in calls)
    text = reply_text(ids, lines, links, masters)
    http.post(response_url, json={"text": text, "response_type": "ephemeral"}).raise_for_status()


# -- the web side ------------------------------------------------------------------------


def make_wsgi(signing_secret: str) -> Callable[..., Iterable[bytes]]:
    verifier = SignatureVerifier(signing_secret)

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def answer(status: str, text: str) -> list[bytes]:
            body = text.encode()
            start_response(
                status,
                [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
            )
            return [body]

        if environ.get("PATH_INFO") != "/slack/events" or environ["REQUEST_METHOD"] != "POST":
            return answer("404 Not Found", "not found")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
        if not verifier.is_valid(body, timestamp, environ.get("HTTP_X_SLACK_SIGNATURE")):
            return answer("401 Unauthorized", "invalid signature")
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        ids = [i for i in form.get("text", "").replace(",", " ").split() if i][:20]
        if not ids or "response_url" not in form:
            return answer("200 OK", "Usage: /invoice <invoice ids>")
        lookup.apply_async(args=(ids, form["response_url"]))
        return answer("200 OK", f"Looking up {len(ids)} invoices…")

    return wsgi


def main(argv: list[str] | None = None) -> int:
    from waitress.server import create_server

    parser = argparse.ArgumentParser(prog="python -m bench.peer_app", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3200)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args(argv)
    server = create_server(
        make_wsgi(os.environ["SLACK_SIGNING_SECRET"]),
        host=args.host,
        port=args.port,
        threads=args.threads,
        ident="peer",
    )
    print(f"peer: listening on http://{args.host}:{args.port}/slack/events", flush=True)
    signal.signal(signal.SIGTERM, lambda signum, frame: server.close())
    with contextlib.suppress(OSError):  # the listening socket was closed by SIGTERM
        server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
