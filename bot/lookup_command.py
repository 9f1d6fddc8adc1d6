"""`invoicebot lookup`: the worker's own fetch and rendering, printed instead of posted.

For an admin checking what the bot would answer, without Slack. It uses the workers'
shared Ekuaibao token and request budget (tasks/runtime.py), so it behaves like one more
worker. Signed links go to the admin's own stdout only; nothing is logged unless
--verbose, and then redacted like every log line.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from bot.parsing import Lookup, Malformed, ReportLookup, TooMany, parse_command
from tasks.contracts import REPORT_PAGE_SIZE, LookupRequest
from tasks.ekuaibao.errors import BadRequest, CredentialsRejected, Unavailable
from tasks.redact import configure_logging
from tasks.settings import EKUAIBAO, fail, load_settings
from tasks.shared import acks
from tasks.shared.blocks import Message, escape
from tasks.shared.texts import texts_for
from tasks.slack import render

#: The request is never posted anywhere: it only says what to fetch.
_NOWHERE = "stdout:"


def _request(args: argparse.Namespace) -> LookupRequest:
    """The ids or report as the bot would read them from `/invoice …`."""
    if args.report is not None:
        parsed = parse_command(f"report {args.report}")
    else:
        parsed = parse_command(" ".join(args.ids))
    if isinstance(parsed, TooMany):
        fail(f"at most {parsed.limit} ids at a time (got {parsed.count}); use --report for more")
    if isinstance(parsed, Malformed):
        fail(f"not an Ekuaibao id: {', '.join(parsed.tokens)}")
    if args.page < 1:
        fail("--page starts at 1")
    if isinstance(parsed, ReportLookup):
        return LookupRequest(report=parsed.report, page=args.page - 1, response_url=_NOWHERE)
    if isinstance(parsed, Lookup):
        return LookupRequest(ids=parsed.ids, response_url=_NOWHERE)
    fail("give invoice ids, or --report CODE")


def _error(message: str) -> int:
    print(f"invoicebot: {message}", file=sys.stderr)
    return 1


def run_lookup(args: argparse.Namespace) -> int:
    settings = load_settings(require=EKUAIBAO)
    request = _request(args)
    if args.verbose:
        configure_logging("DEBUG" if settings.log_level == "DEBUG" else "INFO")
    else:
        logging.disable(logging.CRITICAL)  # errors come as one line below instead
    language = args.language or (None if settings.bot_language == "auto" else settings.bot_language)
    texts = texts_for(language)

    from tasks.lookup.fetching import ReportNotFound, fetch
    from tasks.runtime import build_deps

    try:
        deps = build_deps(settings)
    except Exception as exc:  # e.g. a STATE_DIR it cannot write
        logging.getLogger(__name__).exception("could not set up the lookup")
        return _error(
            f"could not set up the lookup ({type(exc).__name__}): check STATE_DIR and "
            "CELERY_BROKER_URL (`invoicebot doctor` checks both)"
        )
    try:
        result = fetch(request, deps)
    except CredentialsRejected:
        return _error(
            "Ekuaibao rejected the credentials: check EKUAIBAO_APP_KEY, EKUAIBAO_APP_SECURITY "
            "and EKUAIBAO_BASE_URL (`invoicebot doctor` tells which)"
        )
    except Unavailable as exc:
        return _error(f"{exc}: check EKUAIBAO_BASE_URL and the network, or try again")
    except BadRequest as exc:
        return _error(str(exc))
    except ReportNotFound:
        code = f"`{escape(request.report)}`"
        _print([acks.simple(texts.report_not_found.format(code=code))], as_json=args.json)
        return 1
    except Exception as exc:
        logging.getLogger(__name__).exception("lookup failed")
        return _error(f"the lookup failed unexpectedly ({type(exc).__name__}); try --verbose")
    finally:
        deps.executor.shutdown(wait=False)
    page = result.report
    if page is not None and request.page > 0 and page.first >= page.total:
        pages = max(1, -(-page.total // REPORT_PAGE_SIZE))
        return _error(
            f"report {request.report} has {page.total} invoice(s) on {pages} page(s): "
            f"--page {args.page} is past its end"
        )
    controls = render.Controls(owner="", report=request.report, page=request.page)
    _print(render.lookup_messages(result, texts, controls), as_json=args.json)
    return 0


def _print(messages: list[Message], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(messages, ensure_ascii=False, indent=2))
        return
    from sandbox.terminal import to_text

    print("\n\n".join(to_text(message) for message in messages))
