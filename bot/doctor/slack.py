"""Slack checks: the bot token (auth.test) and its scopes, the app token, the clock."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from bot.doctor import manifest
from bot.doctor.checks import Check, fail, ok, public_url, skip, warn
from tasks.settings import Settings

#: Slack refuses a request whose signature timestamp is this far from its clock.
SIGNATURE_WINDOW_S = 300
#: Closer than this to Slack's clock is fine; beyond it, say so before it becomes a failure.
CLOCK_WARN_S = 30
_SIGNING_SECRET = re.compile(r"[0-9a-f]{32}")
_TIMEOUT_S = 5
_REINSTALL = "reinstall the app from manifest.yml (Install App → Reinstall to Workspace)"


@dataclass(frozen=True)
class Answer:
    """One Web API answer: its JSON (or None when unreachable) and headers."""

    data: Mapping[str, Any] | None
    headers: Mapping[str, str]
    sent_at: float
    received_at: float
    problem: str = ""  # why there is no answer: an exception's type name

    @property
    def error(self) -> str | None:
        if self.data is None:
            return None
        return None if self.data.get("ok") else str(self.data.get("error") or "error")

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


def call(api_url: str, method: str, token: str | None) -> Answer:
    """A Web API call through slack_sdk, keeping the answer also when Slack says no."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    client = WebClient(token=token, base_url=api_url, timeout=_TIMEOUT_S)
    sent_at = time.time()
    try:
        response = client.api_call(method)
    except SlackApiError as exc:
        response = exc.response
    except Exception as exc:  # unreachable, TLS, timeout, a body that is not JSON
        return Answer(None, {}, sent_at, time.time(), type(exc).__name__)
    data = response.data if isinstance(response.data, dict) else {"ok": False, "error": "not_json"}
    headers = {str(k): str(v) for k, v in (response.headers or {}).items()}
    return Answer(data, headers, sent_at, time.time())


def _unreachable(api: str, answer: Answer) -> str:
    return (
        f"could not reach Slack at {api} ({answer.problem}) — check SLACK_API_URL and the network"
    )


def bot_token_check(settings: Settings, answer: Answer | None) -> Check:
    name = "Slack bot token"
    api = public_url(settings.slack_api_url)
    if answer is None:
        return fail(
            name,
            "SLACK_BOT_TOKEN is not set — install the app, then copy OAuth & Permissions → "
            "Bot User OAuth Token (xoxb-…)",
        )
    if answer.data is None:
        return fail(name, _unreachable(api, answer))
    error = answer.error
    if error in ("invalid_auth", "not_authed"):
        return fail(
            name,
            f"Slack refused SLACK_BOT_TOKEN ({error}) — copy it again from OAuth & Permissions "
            "(reinstalling the app changes it)",
        )
    if error in ("token_revoked", "account_inactive", "token_expired"):
        return fail(name, f"Slack refused SLACK_BOT_TOKEN ({error}) — {_REINSTALL}")
    if error is not None:
        return fail(name, f"auth.test answered {error} — check SLACK_API_URL and SLACK_BOT_TOKEN")
    data = answer.data
    team, team_id, user = data.get("team"), data.get("team_id"), data.get("user")
    return ok(name, f"workspace {team} ({team_id}), bot @{user}")


#: Scopes only a setting uses: without it, a token that lacks them is fine (an install
#: made before the setting existed need not be reinstalled).
SCOPES_FOR: dict[str, Callable[[Settings], bool]] = {
    "files:write": lambda settings: settings.previews == "all",
}


def scopes_check(
    answer: Answer | None, manifest_path: Path | None, settings: Settings | None = None
) -> Check:
    name = "Slack scopes"
    if answer is None or answer.data is None or answer.error is not None:
        return skip(name, "needs a working bot token")
    try:
        path = manifest.find_manifest(manifest_path)
        wanted = manifest.read_bot_scopes(path)
    except manifest.ManifestError as exc:
        return fail(name, f"cannot compare with manifest.yml: {exc}")
    header = answer.header("x-oauth-scopes")
    if header is None:
        return warn(name, "Slack did not say which scopes the token has (no x-oauth-scopes)")
    missing = manifest.missing_scopes(wanted, manifest.granted(header))
    unused = [s for s in missing if s in SCOPES_FOR and not (settings and SCOPES_FOR[s](settings))]
    missing = [s for s in missing if s not in unused]
    if unused and not missing:
        spare = ", ".join(unused)
        return ok(name, f"all that {path.name} asks for but {spare}, which this setup does not use")
    if missing:
        return fail(name, f"missing {', '.join(missing)} — {_REINSTALL}")
    return ok(name, f"all {len(wanted)} that {path.name} asks for are granted")


def signing_secret_check(settings: Settings, socket_mode: bool) -> Check:
    name = "Slack signing secret"
    secret = settings.slack_signing_secret
    if socket_mode:
        return skip(name, "Socket Mode does not sign requests")
    if secret is None:
        return fail(
            name,
            "SLACK_SIGNING_SECRET is not set — HTTP mode needs it: Basic Information → "
            "App Credentials → Signing Secret",
        )
    if not _SIGNING_SECRET.fullmatch(secret.get_secret_value()):
        return warn(
            name,
            "set, but not 32 hex characters like Slack's — check it is the Signing Secret, "
            "not the Client Secret or Verification Token",
        )
    return ok(name, "set (HTTP mode)")


def app_token_check(settings: Settings, socket_mode: bool, forced_http: bool) -> Check:
    name = "Slack app token"
    if settings.slack_app_token is None:
        return skip(name, "Socket Mode is off (SLACK_APP_TOKEN is not set)")
    if not socket_mode:
        return skip(name, "Socket Mode is off (--http)" if forced_http else "Socket Mode is off")
    api = public_url(settings.slack_api_url)
    app_token = settings.slack_app_token.get_secret_value()
    answer = call(settings.slack_api_url, "apps.connections.open", app_token)
    if answer.data is None:
        return fail(name, _unreachable(api, answer))
    how = "create one under Basic Information → App-Level Tokens with connections:write"
    error = answer.error
    if error == "not_allowed_token_type":
        return fail(name, f"SLACK_APP_TOKEN is not an app-level token — {how}")
    if error == "missing_scope":
        return fail(name, f"SLACK_APP_TOKEN lacks connections:write — {how}")
    if error is not None:
        return fail(name, f"Slack refused SLACK_APP_TOKEN ({error}) — {how}")
    return ok(name, "Slack offers a Socket Mode connection (apps.connections.open)")


def clock_check(answer: Answer, socket_mode: bool = False) -> Check:
    """Our clock against the `Date` of Slack's answer (whole seconds, so ±1 s of noise)."""
    name = "Clock"
    date = answer.header("date")
    if answer.data is None or date is None:
        return warn(name, "could not compare with Slack's (no answer with a Date) — keep NTP on")
    try:
        slack_now = parsedate_to_datetime(date).timestamp() + 0.5
    except (TypeError, ValueError):
        return warn(name, "Slack's Date header was unreadable — keep NTP on")
    skew = (answer.sent_at + answer.received_at) / 2 - slack_now
    return clock_verdict(skew, socket_mode)


def clock_verdict(skew_s: float, socket_mode: bool = False) -> Check:
    """`skew_s` > 0: our clock is ahead of Slack's. Only HTTP mode checks signatures."""
    name = "Clock"
    size = abs(skew_s)
    off = f"{_duration(size)} {'ahead of' if skew_s > 0 else 'behind'} Slack's"
    if size >= SIGNATURE_WINDOW_S and not socket_mode:
        return fail(
            name,
            f"{off} — Slack's requests are refused when clocks differ by 5 minutes; sync the "
            "clock (NTP)",
        )
    if size >= SIGNATURE_WINDOW_S:
        return warn(
            name,
            f"{off} — Socket Mode does not mind, but expiry times are off by as much and HTTP "
            "mode would refuse Slack's requests; sync the clock (NTP)",
        )
    if size >= CLOCK_WARN_S:
        return warn(
            name, f"{off}; at 5 minutes Slack's requests are refused — sync the clock (NTP)"
        )
    return ok(name, f"within {max(1, round(size))} s of Slack's")


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def slack_checks(
    settings: Settings,
    *,
    socket_mode: bool,
    forced_http: bool,
    manifest_path: Path | None,
) -> list[Check]:
    token = settings.slack_bot_token
    auth = call(settings.slack_api_url, "auth.test", token.get_secret_value()) if token else None
    # Without a bot token, api.test still tells the time.
    timed = auth if auth is not None else call(settings.slack_api_url, "api.test", None)
    return [
        bot_token_check(settings, auth),
        scopes_check(auth, manifest_path, settings),
        signing_secret_check(settings, socket_mode),
        app_token_check(settings, socket_mode, forced_http),
        clock_check(timed, socket_mode),
    ]
