"""`invoicebot doctor`: check a real configuration as an admin would, one line per check.

Nothing is written anywhere (a throw-away file proves the embedded broker's folder is
writable), no Slack socket is opened, and a fresh Ekuaibao token is fetched but not kept.
Exit status: 0 when every check passes (warnings allowed), 1 when one fails, 2 when a
setting is invalid.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import ValidationError

from bot.doctor.checks import Check, fail, ok, public_url, warn
from tasks.settings import Settings


def settings_checks(settings: Settings, socket_mode: bool) -> list[Check]:
    broker = (
        "embedded broker" if settings.is_embedded else f"broker {public_url(settings.broker_url)}"
    )
    mode = "Socket Mode" if socket_mode else "HTTP mode"
    checks = [
        ok(
            "Settings",
            f"valid ({mode}, {broker}, ACCESS_MODE={settings.effective_access_mode}, "
            f"BOT_LANGUAGE={settings.bot_language})",
        )
    ]
    if settings.effective_access_mode == "open":
        from tasks.lookup.policy import OPEN_MODE_WARNING

        checks.append(
            warn(
                "Access",
                f"{OPEN_MODE_WARNING} — set ALLOWED_SLACK_USERS/…_USERGROUPS/…_CHANNELS or "
                "ACCESS_MODE to restrict it",
            )
        )
    return checks


def invalid_settings(exc: ValidationError) -> list[Check]:
    """One line per invalid setting; the message never carries the value itself."""
    checks = []
    for error in exc.errors():
        name = str(error["loc"][0]).upper() if error["loc"] else "a setting"
        checks.append(
            fail(f"Setting {name}", f"invalid: {error['msg']} — fix it in the environment or .env")
        )
    return checks


def run_doctor(args: argparse.Namespace) -> int:
    # Log lines would interleave with the report, and the report says what they would.
    logging.disable(logging.CRITICAL)
    try:
        settings = Settings()
    except ValidationError as exc:
        for check in invalid_settings(exc):
            print(check.line(), flush=True)
        print("Fix the settings above, then run `invoicebot doctor` again.")
        return 2
    socket_mode = settings.slack_app_token is not None and not args.http
    manifest_path: Path | None = args.manifest

    from bot.doctor.broker import broker_checks
    from bot.doctor.ekuaibao import ekuaibao_checks
    from bot.doctor.slack import slack_checks

    groups: list[Callable[[], list[Check]]] = [
        lambda: slack_checks(
            settings, socket_mode=socket_mode, forced_http=args.http, manifest_path=manifest_path
        ),
        lambda: ekuaibao_checks(settings),
        lambda: broker_checks(settings),
    ]
    checks = settings_checks(settings, socket_mode)
    # Independent network checks at the same time; printed in a fixed order.
    with ThreadPoolExecutor(max_workers=len(groups)) as pool:
        for result in [pool.submit(_guarded, group) for group in groups]:
            checks.extend(result.result())
    for check in checks:
        print(check.line(), flush=True)
    failed = [c for c in checks if c.status == "fail"]
    warned = [c for c in checks if c.status == "warn"]
    if failed:
        print(
            f"{len(failed)} of {len(checks)} checks failed: fix the ✗ lines, then run "
            "`invoicebot doctor` again."
        )
        return 1
    print(
        f"All {len(checks)} checks passed"
        + (f" ({len(warned)} with a warning ⚠ worth a look)." if warned else ".")
    )
    return 0


def _guarded(group: Callable[[], list[Check]]) -> list[Check]:
    """A bug in one check must not hide the others, nor print a traceback."""
    try:
        return group()
    except Exception as exc:
        return [fail("Doctor", f"a check stopped unexpectedly ({type(exc).__name__})")]
