"""The baseline: the minimal Bolt app most people would write first.

One `slack_bolt.App` whose `/invoice` handler acknowledges, then makes the two Ekuaibao
calls itself, one after the other (`detailBatch`, then `INVOICE/url`), and answers with
`respond()`. Everything else is Bolt's defaults: `process_before_response=False`, so Bolt
runs the handler on its listener executor (a `ThreadPoolExecutor` of **5** threads by
default) while the HTTP thread polls every 10 ms for `ack()`.

To keep the comparison about the design and not about a strawman, the baseline gets the
two obvious optimisations: the Ekuaibao access token is fetched once and kept in a
module-level variable (no expiry handling: fine for a 2-hour token and a short benchmark),
and one module-level `httpx.Client` keeps connections alive. It is served exactly like the
bot: waitress, the same thread count (16), `POST /slack/events`.

Run: ``python -m bench.baseline_app --port 3100`` with SLACK_SIGNING_SECRET,
SLACK_BOT_TOKEN, SLACK_API_URL, EKUAIBAO_BASE_URL, EKUAIBAO_APP_KEY and
EKUAIBAO_APP_SECURITY in the environment (the benchmark points them at 127.0.0.1).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from collections import defaultdict
from typing import Any

import httpx
from slack_bolt import Ack, App, Respond
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from waitress.server import create_server

TOKEN_PATH = "/api/openapi/v1/auth/getAccessToken"
DETAIL_BATCH_PATH = "/api/openapi/v2/extension/INVOICE/object/invoice/detailBatch"
INVOICE_URL_PATH = "/api/openapi/v2/extension/INVOICE/url"
_LINE = "E_system_发票明细_"

ekuaibao = httpx.Client(
    base_url=os.environ.get("EKUAIBAO_BASE_URL", "http://127.0.0.1:1"), timeout=10
)
_token: str | None = None
_token_lock = threading.Lock()


def access_token() -> str:
    """Module-level cache: fetched on the first command, then reused."""
    global _token
    with _token_lock:
        if _token is None:
            answer = ekuaibao.post(
                TOKEN_PATH,
                json={
                    "appKey": os.environ["EKUAIBAO_APP_KEY"],
                    "appSecurity": os.environ["EKUAIBAO_APP_SECURITY"],
                },
            )
            answer.raise_for_status()
            _token = str(answer.json()["value"]["accessToken"])
        return _token


def _money(value: Any) -> str:
    return str(value.get("standard", "")) if isinstance(value, dict) else "—"


def build_app() -> App:
    app = App(
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        # pointed at the Slack stand-in: auth.test at start-up goes to 127.0.0.1
        client=WebClient(
            token=os.environ["SLACK_BOT_TOKEN"],
            base_url=os.environ.get("SLACK_API_URL", "https://slack.com/api/"),
        ),
    )

    @app.command("/invoice")
    def invoice(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        ids = [i for i in str(command.get("text", "")).replace(",", " ").split() if i][:20]
        ack(text=f":mag: Looking up {len(ids)} invoices…", response_type="ephemeral")
        token = access_token()
        lines = ekuaibao.post(
            DETAIL_BATCH_PATH, params={"accessToken": token}, json={"invoiceIds": ids}
        )
        lines.raise_for_status()
        links = ekuaibao.post(
            INVOICE_URL_PATH, params={"accessToken": token}, json={"invoiceId": ids}
        )
        links.raise_for_status()
        by_invoice: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for item in lines.json().get("items", []):
            by_invoice[str(item.get("masterId"))].append(item)
        url_of = {str(i.get("id")): i for i in links.json().get("items", [])}
        found = [i for i in ids if i in by_invoice or i in url_of]
        blocks: list[dict[str, Any]] = [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*Found {len(found)} of {len(ids)} invoices.*"},
            }
        ]
        for invoice_id in found[:45]:
            rows = [
                f"{n}. {item.get(_LINE + 'name', '')} · Amount: {_money(item.get(_LINE + '金额'))}"
                f" · Tax: {_money(item.get(_LINE + '税额'))}"
                for n, item in enumerate(by_invoice.get(invoice_id, []), start=1)
            ]
            link = url_of.get(invoice_id)
            if link:
                rows.append(f"<{link['url']}|{link.get('fileName', 'file')}>")
            text = f"*{invoice_id}*\n" + "\n".join(rows)
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}})
        respond(
            text=f"Invoice lookup: {len(found)} found, {len(ids) - len(found)} not found.",
            blocks=blocks,
            response_type="ephemeral",
            replace_original=True,
        )

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline_app", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3100)
    parser.add_argument("--threads", type=int, default=16, help="waitress threads (as the bot)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    server = create_server(
        SlackRequestHandler(build_app()),
        host=args.host,
        port=args.port,
        threads=args.threads,
        ident="baseline",
    )
    print(f"baseline: listening on http://{args.host}:{args.port}/slack/events", flush=True)
    signal.signal(signal.SIGTERM, lambda signum, frame: server.close())
    with contextlib.suppress(OSError):  # the listening socket was closed by SIGTERM
        server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
