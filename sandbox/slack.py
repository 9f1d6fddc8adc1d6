"""A loopback stand-in for Slack: the Web API and slash-command response_urls.

The bot's replies go out through response_urls (5 uses, 30 minutes) and a handful of
Web API methods. Real Slack rejects bad Block Kit with a terse error and rate-limits
with 429 + Retry-After; this stand-in does the same, and records every post (the
rejected ones too) so tests can assert on what the user would actually have seen.
Pictures take Slack's three-step upload (files.getUploadURLExternal, a POST of the
bytes, files.completeUploadExternal); an image block's `slack_file` must name a
completed, undeleted png/jpg/gif, or the post fails as Slack's would.
"""

from __future__ import annotations

import copy
import json
import mimetypes
import re
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

from sandbox.blockkit import validate_message
from sandbox.ekuaibao import HttpRequest, HttpResponse, LoopbackServer

if TYPE_CHECKING:  # the Socket Mode stand-in needs `websockets`, a dev extra
    from sandbox.socket_mode import SocketModeStandIn

__all__ = ["ApiCall", "FileShare", "ResponsePost", "SlackFile", "SlackStandIn"]

TEAM_ID = "T0SANDBOX"
BOT_USER_ID = "U0SANDBOXBOT"
BOT_ID = "B0SANDBOX"
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL_S = 30 * 60

DEFAULT_USER_ID = "U0SANDBOX"
APP_ID = "A0SANDBOX"
#: What an app installed from manifest.yml is granted (auth.test's `x-oauth-scopes`).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "app_mentions:read",
    "im:history",
    "im:write",
    "reactions:write",
    "users:read",
    "users:read.email",
    "usergroups:read",
    "channels:read",
    "groups:read",
    "im:read",
    "mpim:read",
    "files:write",
)
_ALNUM = string.ascii_letters + string.digits
#: files.getUploadURLExternal: the largest file Slack takes, and its alt_txt limit.
MAX_UPLOAD_BYTES = 1024**3
MAX_ALT_TXT = 1000
#: What an image block (or image element) may show through `slack_file`.
IMAGE_FILETYPES = frozenset({"png", "jpg", "jpeg", "gif"})


def _default_user() -> dict[str, Any]:
    return {
        "id": DEFAULT_USER_ID,
        "team_id": TEAM_ID,
        "name": "sandbox.user",
        "real_name": "Sandbox User",
        "deleted": False,
        "is_bot": False,
        "is_admin": False,
        "is_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_app_user": False,
        "is_email_confirmed": True,
        "tz": "Asia/Shanghai",
        "tz_label": "China Standard Time",
        "tz_offset": 28800,
        "locale": "en-US",
        "profile": {
            "real_name": "Sandbox User",
            "display_name": "Sandbox User",
            "email": "sandbox.user@example.com",
        },
    }


@dataclass(frozen=True)
class ResponsePost:
    key: str  # the random last path segment of the response_url
    body: dict[str, Any]  # parsed JSON; {"_raw": text} when it was not a JSON object
    status: int
    at: float  # stand-in clock


@dataclass(frozen=True)
class ApiCall:
    method: str  # e.g. "chat.postMessage"
    token: str | None
    params: dict[str, Any]  # query + body; JSON-string `blocks` are decoded
    status: int
    at: float  # stand-in clock


@dataclass(frozen=True)
class FileShare:
    """One message that shared a file: the conversation, the message, and its thread."""

    channel: str
    ts: str
    thread_ts: str | None = None


@dataclass(frozen=True)
class SlackFile:
    """A file uploaded through files.getUploadURLExternal, as the stand-in holds it.

    Immutable: the stand-in swaps in a new record on each step, so a copy handed to a
    test never changes under it.
    """

    id: str
    name: str  # the filename announced to files.getUploadURLExternal
    length: int  # the byte count announced there
    created_at: float  # stand-in clock
    alt_txt: str | None = None
    title: str | None = None  # set by files.completeUploadExternal (default: the name)
    content: bytes | None = None  # what was POSTed to the upload_url; None until then
    uploaded_at: float | None = None
    complete: bool = False
    completed_at: float | None = None
    deleted: bool = False
    deleted_at: float | None = None
    shares: tuple[FileShare, ...] = ()  # empty: private to the uploader

    @property
    def filetype(self) -> str:
        """Slack's short type, from the name's extension (``jpeg`` is ``jpg``)."""
        ext = self.name.rsplit(".", 1)[-1].lower() if "." in self.name else ""
        return "jpg" if ext == "jpeg" else ext or "binary"

    @property
    def mimetype(self) -> str:
        guessed, _ = mimetypes.guess_type(f"f.{self.filetype}", strict=False)
        return guessed or "application/octet-stream"

    @property
    def channels(self) -> tuple[str, ...]:
        """The conversations it was shared into, first share first."""
        return tuple(dict.fromkeys(s.channel for s in self.shares))


@dataclass
class _ResponseUrl:
    created_at: float
    uses: int = 0


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


class SlackStandIn:
    """Slack on loopback, with fault knobs. Thread-safe."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_token: str = "xoxb-sandbox-token",
        app_token: str | None = None,
        clock: Callable[[], float] = time.time,
        socket_mode: SocketModeStandIn | None = None,
    ) -> None:
        self.bot_token = bot_token
        #: Where `apps.connections.open` URLs lead; without it, to no socket at all.
        self.socket_mode = socket_mode
        #: The app-level token `apps.connections.open` accepts; None = it accepts none.
        self.app_token = app_token or (socket_mode.app_token if socket_mode else None)
        #: The bot token's scopes, as auth.test reports them in `x-oauth-scopes`.
        self.granted_scopes: tuple[str, ...] = BOT_SCOPES
        self.clock = clock
        self.users: dict[str, dict[str, Any]] = {DEFAULT_USER_ID: _default_user()}
        #: usergroups.users.list: user group id (S…) -> member user ids.
        self.usergroups: dict[str, list[str]] = {}
        #: conversations.info answers `is_ext_shared: true` (Slack Connect) for these.
        self.shared_channels: set[str] = set()
        #: conversations.info answers channel_not_found, like a private channel the bot is not in.
        self.hidden_channels: set[str] = set()
        #: conversations.info fields by channel id, over the defaults: e.g. a Slack Connect
        #: DM is ``{"is_im": True, "user": "U0EXT", "is_ext_shared": True}``. Without an
        #: entry, `D…` is the bot's DM with the user it was opened for, and any other `D…`
        #: (a DM between people) is channel_not_found: the bot is not in it.
        self.conversations: dict[str, dict[str, Any]] = {}
        #: auth.test's installation: the workspace, and its Enterprise Grid org (None: none).
        self.team_id = TEAM_ID
        self.enterprise_id: str | None = None
        self._server = LoopbackServer(host, port, self._handle, clock)
        self._lock = threading.Lock()
        self._posted = threading.Condition(self._lock)
        self._urls: dict[str, _ResponseUrl] = {}
        self._url_seq = 0
        self._posts: list[ResponsePost] = []
        self._api_calls: list[ApiCall] = []
        self._fail_posts: list[int] = []
        self._images_refused = False
        self._rate_limits: list[int] = []
        self._ts_seq = 0
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._files: dict[str, SlackFile] = {}
        self._file_seq = 0
        self._reactions: set[tuple[str, str, str]] = set()
        #: views.publish: the Home tab each user last got; off = `not_enabled`.
        self.home_tab_enabled = True
        self.home_views: dict[str, dict[str, Any]] = {}
        #: Modals: trigger ids handed out (id -> when, used) and every open view by id.
        self._triggers: dict[str, tuple[float, bool]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self._view_seq = 0
        #: chat.update applies the change, then answers this much later (a worker stuck
        #: there can be killed); `update_arrived` is set when such a call came in.
        self.update_stall_s = 0.0
        self.update_arrived = threading.Event()

    # lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._server.base_url

    @property
    def response_url_prefix(self) -> str:
        """Where its response_urls live, as SLACK_RESPONSE_URL_PREFIXES takes it (Slack's
        own: https://hooks.slack.com/)."""
        return f"{self.base_url}/"

    @property
    def api_url(self) -> str:
        """What to pass as ``WebClient(base_url=...)``."""
        return f"{self.base_url}/api/"

    def start(self) -> SlackStandIn:
        self._server.start("slack-stand-in")
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # response_urls ---------------------------------------------------------------------

    def new_response_url(self) -> str:
        """A fresh response_url, as in a slash-command payload; its 30 minutes start now."""
        key = "".join(secrets.choice(_ALNUM) for _ in range(24))
        with self._lock:
            self._url_seq += 1
            self._urls[key] = _ResponseUrl(created_at=self.clock())
            n = self._url_seq
        return f"{self.base_url}/commands/{TEAM_ID}/{n}/{key}"

    @property
    def posts(self) -> list[ResponsePost]:
        with self._lock:
            return list(self._posts)

    def posts_for(self, response_url: str) -> list[ResponsePost]:
        """Posts to one response_url (full URL or its key), rejected ones included."""
        key = response_url.rstrip("/").rsplit("/", 1)[-1]
        with self._lock:
            return [p for p in self._posts if p.key == key]

    def wait_for_posts(
        self, response_url: str, n: int = 1, timeout: float = 10.0
    ) -> list[ResponsePost]:
        """Block until ``n`` posts reached ``response_url``; the bot answers asynchronously."""
        key = response_url.rstrip("/").rsplit("/", 1)[-1]
        deadline = time.monotonic() + timeout
        with self._posted:
            while True:
                got = [p for p in self._posts if p.key == key]
                if len(got) >= n:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = ", ".join(str(p.status) for p in got) or "none"
                    raise TimeoutError(
                        f"expected {n} post(s) to response_url …/{key} within {timeout:.1f}s, "
                        f"got {len(got)} (statuses: {seen}); {len(self._posts)} post(s) in total"
                    )
                self._posted.wait(left)

    def refuse_images(self, refuse: bool = True) -> None:
        """Slack downloads every image_url when a message is posted or updated; with this
        set, it cannot (the host is unreachable for it, the link expired), and the post
        fails with `invalid_blocks`, "downloading image failed", as Slack's does."""
        self._images_refused = refuse

    def fail_next_posts(self, n: int, status: int = 500) -> None:
        """The next n response_url posts fail with ``status``; they don't use up the URL."""
        with self._lock:
            self._fail_posts.extend([status] * n)

    # Web API ---------------------------------------------------------------------------

    @property
    def api_calls(self) -> list[ApiCall]:
        with self._lock:
            return list(self._api_calls)

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.api_calls if c.method == method]

    def rate_limit_next(self, n: int, retry_after: int = 1) -> None:
        """The next n Web API calls answer 429 with ``Retry-After: retry_after``."""
        with self._lock:
            self._rate_limits.extend([retry_after] * n)

    def add_user(self, user_id: str, email: str, *, locale: str = "en-US", **fields: Any) -> None:
        """A workspace member with this email (users.lookupByEmail finds them); `fields`
        override users.info's, e.g. ``is_restricted=True`` for a guest, ``is_stranger=True,
        team_id="T0OTHER"`` for someone from another organisation."""
        user = _default_user()
        user.update({"id": user_id, "name": email.split("@")[0], "locale": locale, **fields})
        user["profile"] = {**user["profile"], "email": email, "real_name": email}
        with self._lock:
            self.users[user_id] = user

    def new_trigger(self) -> str:
        """A trigger_id as an interaction carries it: one views.open, within 3 s."""
        with self._lock:
            self._view_seq += 1
            trigger = f"{self._view_seq}.{secrets.randbelow(10**9)}.sandbox"
            self._triggers[trigger] = (self.clock(), False)
        return trigger

    def view(self, view_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self.views.get(view_id)
            return copy.deepcopy(found) if found is not None else None

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """A message the bot posted (as chat.update last left it)."""
        with self._lock:
            found = self._messages.get((channel, ts))
            return copy.deepcopy(found) if found is not None else None

    def messages_in(self, channel: str) -> list[dict[str, Any]]:
        """The bot's messages in one conversation (a DM is `D` + the user id's tail), oldest
        first, thread replies included."""
        with self._lock:
            found = [copy.deepcopy(m) for (c, _), m in self._messages.items() if c == channel]
        return sorted(found, key=lambda m: m["ts"])

    @property
    def files(self) -> list[SlackFile]:
        """Every file an upload was started for, oldest first (pending and deleted too)."""
        with self._lock:
            return list(self._files.values())

    def file(self, file_id: str) -> SlackFile | None:
        with self._lock:
            return self._files.get(file_id)

    # request handling ------------------------------------------------------------------

    def _handle(self, req: HttpRequest) -> HttpResponse:
        if req.path.startswith("/commands/") and req.method == "POST":
            return self._response_url_post(req)
        if req.path.startswith("/api/"):
            return self._web_api(req)
        if req.path.startswith("/upload/"):
            return self._upload_post(req)
        return HttpResponse.text(404, "Not Found")

    def _response_url_post(self, req: HttpRequest) -> HttpResponse:
        key = req.path.rstrip("/").rsplit("/", 1)[-1]
        body, payload_ok = _parse_post_body(req)
        # Checked before taking the lock: a Block Kit check takes milliseconds, and under the
        # lock every other post (and every test reading posts) would queue behind it.
        bad_files = self._slack_file_failures(body.get("blocks"))
        checked = _check_response_body(body, payload_ok, self._images_refused, bad_files)
        now = self.clock() if req.received_at is None else req.received_at
        with self._lock:
            state = self._urls.get(key)
            if state is None or not req.path.startswith(f"/commands/{TEAM_ID}/"):
                status, text = 404, "invalid_url"
            elif now - state.created_at > RESPONSE_URL_TTL_S:
                status, text = 404, "expired_url"
            elif state.uses >= RESPONSE_URL_USES:
                status, text = 404, "used_url"
            elif self._fail_posts:
                status = self._fail_posts.pop(0)
                text = "internal_error" if status >= 500 else "sandbox_failure"
            else:
                status, text = checked
                if status == 200:
                    state.uses += 1
            self._posts.append(ResponsePost(key=key, body=body, status=status, at=now))
            self._posted.notify_all()
        return HttpResponse.text(status, text, "text/html")

    def _web_api(self, req: HttpRequest) -> HttpResponse:
        method = req.path[len("/api/") :]
        params: dict[str, Any] = dict(req.query)
        body_ok = True
        ctype = (req.headers.get("Content-Type") or "").lower()
        if req.body:
            if "json" in ctype:
                try:
                    parsed = json.loads(req.body)
                except ValueError:
                    parsed = None
                if isinstance(parsed, dict):
                    params.update(parsed)
                else:
                    body_ok = False
            else:
                form = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
                params.update({k: v[-1] for k, v in form.items()})
        token = params.pop("token", None)
        auth = req.headers.get("Authorization") or ""
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        blocks_ok = _decode_json_param(params, "blocks")

        with self._lock:
            retry_after = self._rate_limits.pop(0) if self._rate_limits else None
        if retry_after is not None:
            response = HttpResponse.json(
                429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)}
            )
        elif not token:
            response = _api_error("not_authed")
        elif method == "apps.connections.open":
            response = self._connections_open(token)
        elif self.app_token is not None and token == self.app_token:
            response = _api_error("not_allowed_token_type")
        elif token != self.bot_token:
            response = _api_error("invalid_auth")
        elif not body_ok:
            response = _api_error("invalid_json")
        elif not blocks_ok:
            response = _api_error("invalid_blocks_format")
        else:
            handler = _METHODS.get(method)
            response = handler(self, params) if handler else _api_error("unknown_method")
        with self._lock:
            self._api_calls.append(ApiCall(method, token, params, response.status, self.clock()))
        return response

    # Web API methods ---------------------------------------------------------------------

    def _new_ts(self) -> str:
        with self._lock:
            return self._new_ts_locked()

    def _new_ts_locked(self) -> str:
        self._ts_seq += 1
        return f"{int(self.clock())}.{self._ts_seq:06d}"

    def _auth_test(self, params: dict[str, Any]) -> HttpResponse:
        return HttpResponse.json(
            200,
            {
                "ok": True,
                "url": "https://sandbox.slack.com/",
                "team": "Sandbox",
                "user": "invoice-bot",
                "team_id": self.team_id,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
                **({"enterprise_id": self.enterprise_id} if self.enterprise_id else {}),
            },
            {"x-oauth-scopes": ",".join(self.granted_scopes)},
        )

    def _connections_open(self, token: str) -> HttpResponse:
        """Socket Mode's WebSocket URL, for the app-level token only: a one-time URL of the
        Socket Mode stand-in, or one with no socket behind it."""
        if token == self.bot_token:
            return _api_error("not_allowed_token_type")
        if self.app_token is None or token != self.app_token:
            return _api_error("invalid_auth")
        if self.socket_mode is not None:
            return HttpResponse.json(200, {"ok": True, "url": self.socket_mode.new_url()})
        ticket = "".join(secrets.choice(_ALNUM) for _ in range(32))
        host = self.base_url.split("://", 1)[1]
        return HttpResponse.json(
            200, {"ok": True, "url": f"ws://{host}/link/?ticket={ticket}&app_id={APP_ID}"}
        )

    def _post_message(self, params: dict[str, Any]) -> HttpResponse:
        channel = params.get("channel")
        if not channel:
            return _api_error("channel_not_found")
        problem = self._message_problem(params)
        if problem is not None:
            return problem
        if str(channel).startswith(("U", "W")):  # posting to a user id lands in their DM
            with self._lock:
                known = str(channel) in self.users
            if not known:
                return _api_error("channel_not_found")
            channel = _dm_channel(str(channel))
        ts = self._new_ts()
        message = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "ts": ts,
            "text": params.get("text", ""),
        }
        if params.get("blocks") is not None:
            message["blocks"] = params["blocks"]
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
        with self._lock:
            self._messages[(str(channel), ts)] = message
        return HttpResponse.json(
            200, {"ok": True, "channel": channel, "ts": ts, "message": message}
        )

    def _post_ephemeral(self, params: dict[str, Any]) -> HttpResponse:
        if not params.get("channel"):
            return _api_error("channel_not_found")
        if not params.get("user"):
            return _api_error("user_not_found")
        problem = self._message_problem(params)
        if problem is not None:
            return problem
        return HttpResponse.json(200, {"ok": True, "message_ts": self._new_ts()})

    def _update(self, params: dict[str, Any]) -> HttpResponse:
        channel, ts = str(params.get("channel") or ""), str(params.get("ts") or "")
        if not channel:
            return _api_error("channel_not_found")
        problem = self._message_problem(params)
        if problem is not None:
            return problem
        with self._lock:
            message = self._messages.get((channel, ts))
            if message is None:
                return _api_error("message_not_found")
            message["text"] = params.get("text", "")
            if params.get("blocks") is not None:
                message["blocks"] = params["blocks"]
            current = dict(message)
        if self.update_stall_s:
            self.update_arrived.set()
            time.sleep(self.update_stall_s)
        return HttpResponse.json(
            200,
            {"ok": True, "channel": channel, "ts": ts, "text": current["text"], "message": current},
        )

    def _users_info(self, params: dict[str, Any]) -> HttpResponse:
        with self._lock:
            user = self.users.get(str(params.get("user") or ""))
            user = copy.deepcopy(user) if user is not None else None
        if user is None:
            return _api_error("user_not_found")
        if not _is_true(params.get("include_locale")):
            user.pop("locale", None)  # real Slack only sends it when asked
        # Real Slack keeps the email only under profile (with users:read.email); accept
        # a top-level "email" in test-made entries and move it where Slack puts it.
        email = user.pop("email", None)
        profile = user.get("profile")
        if not isinstance(profile, dict):
            profile = user["profile"] = {}
        if email and not profile.get("email"):
            profile["email"] = email
        return HttpResponse.json(200, {"ok": True, "user": user})

    def _lookup_by_email(self, params: dict[str, Any]) -> HttpResponse:
        """Case-insensitive, like Slack in practice; a miss is `users_not_found`."""
        email = str(params.get("email") or "").strip().lower()
        if not email:
            return _api_error("invalid_arguments")
        with self._lock:
            for user in self.users.values():
                profile = user.get("profile") or {}
                found = str(profile.get("email") or user.get("email") or "").lower()
                if found == email and not user.get("deleted"):
                    answer = copy.deepcopy(user)
                    break
            else:
                return _api_error("users_not_found")
        answer.pop("locale", None)
        return HttpResponse.json(200, {"ok": True, "user": answer})

    def _views_publish(self, params: dict[str, Any]) -> HttpResponse:
        user_id = str(params.get("user_id") or "")
        view = params.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except ValueError:
                return _api_error("invalid_arguments")
        if not user_id or not isinstance(view, dict):
            return _api_error("invalid_arguments")
        if not self.home_tab_enabled:
            return _api_error("not_enabled")
        with self._lock:
            known = user_id in self.users
        if not known:
            return _api_error("user_not_found")
        blocks = view.get("blocks")
        if view.get("type") != "home" or not isinstance(blocks, list) or len(blocks) > 100:
            return _api_error("invalid_arguments")
        errors = [e for e in validate_message({"blocks": blocks}) if "blocks >" not in e]
        if errors:
            return _api_error("invalid_blocks", errors=errors)
        with self._lock:
            self.home_views[user_id] = view
        return HttpResponse.json(200, {"ok": True, "view": {"id": "V0SANDBOX", **view}})

    def _views_open(self, params: dict[str, Any]) -> HttpResponse:
        trigger = str(params.get("trigger_id") or "")
        view = _json_view(params)
        if view is None:
            return _api_error("invalid_arguments")
        with self._lock:
            issued = self._triggers.get(trigger)
            if issued is None:
                return _api_error("invalid_trigger_id")
            if issued[1]:
                return _api_error("trigger_exchanged")
            if self.clock() - issued[0] > TRIGGER_TTL_S:
                return _api_error("expired_trigger_id")
            self._triggers[trigger] = (issued[0], True)
        problem = _view_problem(view)
        if problem is not None:
            return problem
        with self._lock:
            self._view_seq += 1
            view_id = f"V0MODAL{self._view_seq:04d}"
            stored = {**view, "id": view_id, "hash": f"{self._view_seq}.h"}
            self.views[view_id] = stored
        return HttpResponse.json(200, {"ok": True, "view": copy.deepcopy(stored)})

    def _views_update(self, params: dict[str, Any]) -> HttpResponse:
        view_id = str(params.get("view_id") or "")
        view = _json_view(params)
        if view is None or not view_id:
            return _api_error("invalid_arguments")
        problem = _view_problem(view)
        if problem is not None:
            return problem
        with self._lock:
            known = self.views.get(view_id)
            if known is None:
                return _api_error("not_found")
            if params.get("hash") and params["hash"] != known.get("hash"):
                return _api_error("hash_conflict")
            self._view_seq += 1
            stored = {**view, "id": view_id, "hash": f"{self._view_seq}.h"}
            self.views[view_id] = stored
        return HttpResponse.json(200, {"ok": True, "view": copy.deepcopy(stored)})

    def _usergroups_users_list(self, params: dict[str, Any]) -> HttpResponse:
        group = str(params.get("usergroup") or "")
        if not group:
            return _api_error("invalid_arguments")
        with self._lock:
            members = self.usergroups.get(group)
            members = list(members) if members is not None else None
        if members is None:
            return _api_error("no_such_subteam")
        return HttpResponse.json(200, {"ok": True, "users": members})

    def _reaction(self, params: dict[str, Any], *, add: bool) -> HttpResponse:
        channel, ts = str(params.get("channel") or ""), str(params.get("timestamp") or "")
        name = str(params.get("name") or "")
        if not channel or not ts:
            return _api_error("no_item_specified")
        if not name:
            return _api_error("invalid_name")
        item = (channel, ts, name)
        with self._lock:
            if add and item in self._reactions:
                return _api_error("already_reacted")
            if not add and item not in self._reactions:
                return _api_error("no_reaction")
            if add:
                self._reactions.add(item)
            else:
                self._reactions.discard(item)
        return HttpResponse.json(200, {"ok": True})

    def _reactions_add(self, params: dict[str, Any]) -> HttpResponse:
        return self._reaction(params, add=True)

    def _reactions_remove(self, params: dict[str, Any]) -> HttpResponse:
        return self._reaction(params, add=False)

    def _conversations_open(self, params: dict[str, Any]) -> HttpResponse:
        users = params.get("users")
        if isinstance(users, list):
            users = ",".join(str(u) for u in users)
        ids = [u for u in str(users or "").split(",") if u]
        if not ids:
            return _api_error("users_list_not_supplied")
        channel = _dm_channel(ids[0]) if len(ids) == 1 else "G" + "".join(sorted(ids))[1:12]
        return HttpResponse.json(200, {"ok": True, "channel": {"id": channel}})

    def _conversations_info(self, params: dict[str, Any]) -> HttpResponse:
        """Needs the scope of the conversation's kind (channels/groups/im/mpim:read), like
        Slack; the bot sees only DMs it is in."""
        channel = str(params.get("channel") or "")
        with self._lock:
            extra = copy.deepcopy(self.conversations.get(channel) or {})
            shared = channel in self.shared_channels
            dm_user = next((u for u in self.users if _dm_channel(u) == channel), None)
        if not channel or channel[0] not in "CDG" or channel in self.hidden_channels:
            return _api_error("channel_not_found")
        if channel[0] == "D" and not extra and dm_user is None:
            return _api_error("channel_not_found")
        info: dict[str, Any] = {
            "id": channel,
            "name": channel.lower() if channel[0] != "D" else None,
            "is_channel": channel[0] == "C",
            "is_group": channel[0] == "G",
            "is_im": channel[0] == "D",
            "is_mpim": False,
            "is_private": channel[0] != "C",
            "is_member": True,
            "is_shared": shared,
            "is_ext_shared": shared,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
        }
        if channel[0] == "D":
            info["user"] = dm_user
        info.update(extra)
        kind = "im" if info["is_im"] else "mpim" if info["is_mpim"] else ""
        kind = kind or ("channels" if channel[0] == "C" else "groups")
        if f"{kind}:read" not in self.granted_scopes:
            return _api_error("missing_scope", needed=f"{kind}:read")
        return HttpResponse.json(200, {"ok": True, "channel": info})

    # files -------------------------------------------------------------------------------

    def _message_problem(self, params: dict[str, Any]) -> HttpResponse | None:
        bad_files = self._slack_file_failures(params.get("blocks"))
        return _message_problem(params, self._images_refused, bad_files)

    def _slack_file_failures(self, blocks: Any) -> list[str]:
        """Slack's error for each `slack_file` it cannot show: no such file, not completed,
        deleted, or not a picture Block Kit takes."""
        refs = list(_slack_file_refs(blocks, "/blocks"))
        if not refs:
            return []
        with self._lock:
            files = list(self._files.values())
        by_id = {f.id: f for f in files}
        by_url = {u: f for f in files for u in (self._url_private(f), self._permalink(f))}
        failures = []
        for pointer, ref in refs:
            found = None
            if isinstance(ref, dict) and isinstance(ref.get("id"), str):
                found = by_id.get(ref["id"])
            elif isinstance(ref, dict) and isinstance(ref.get("url"), str):
                found = by_url.get(ref["url"])
            usable = found is not None and found.complete and not found.deleted
            if not usable or found is None or found.filetype not in IMAGE_FILETYPES:
                failures.append(f"invalid slack file [json-pointer:{pointer}]")
        return failures

    def _url_private(self, f: SlackFile, *, download: bool = False) -> str:
        tail = f"download/{quote(f.name)}" if download else quote(f.name)
        return f"{self.base_url}/files-pri/{self.team_id}-{f.id}/{tail}"

    def _permalink(self, f: SlackFile) -> str:
        return f"{self.base_url}/files/{BOT_USER_ID}/{f.id}/{quote(f.name)}"

    def _file_info(self, f: SlackFile) -> dict[str, Any]:
        """The file object Slack's files.* methods answer with (the fields bots read)."""
        shares: dict[str, dict[str, list[dict[str, Any]]]] = {"public": {}, "private": {}}
        for share in f.shares:
            where = shares["public" if share.channel.startswith("C") else "private"]
            entry: dict[str, Any] = {"ts": share.ts}
            if share.thread_ts:
                entry["thread_ts"] = share.thread_ts
            where.setdefault(share.channel, []).append(entry)
        channels = f.channels
        info: dict[str, Any] = {
            "id": f.id,
            "created": int(f.created_at),
            "timestamp": int(f.created_at),
            "name": f.name,
            "title": f.title if f.title is not None else f.name,
            "mimetype": f.mimetype,
            "filetype": f.filetype,
            "pretty_type": f.filetype.upper(),
            "user": BOT_USER_ID,
            "user_team": self.team_id,
            "editable": False,
            "size": len(f.content) if f.content is not None else f.length,
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": any(c.startswith("C") for c in channels),
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": self._url_private(f),
            "url_private_download": self._url_private(f, download=True),
            "permalink": self._permalink(f),
            "channels": [c for c in channels if c.startswith("C")],
            "groups": [c for c in channels if c.startswith("G")],
            "ims": [c for c in channels if c.startswith("D")],
            "shares": {k: v for k, v in shares.items() if v},
            "has_rich_preview": False,
            "file_access": "visible",
            "comments_count": 0,
        }
        if f.alt_txt:
            info["alt_txt"] = f.alt_txt
        return info

    def _get_upload_url(self, params: dict[str, Any]) -> HttpResponse:
        """Step 1 of an upload: a file id and where to POST its bytes."""
        missing = [k for k in ("filename", "length") if params.get(k) in (None, "")]
        if missing:
            messages = [f"[ERROR] missing required field: {k}" for k in missing]
            return _api_error("invalid_arguments", response_metadata={"messages": messages})
        filename, length = params["filename"], _as_int(params["length"])
        if not isinstance(filename, str):
            return _invalid_arguments("filename must be a string")
        if length is None or length < 0:
            return _invalid_arguments("length must be a positive integer")
        if length == 0:
            return _api_error("missing_argument")  # Slack's answer to an empty file
        if length > MAX_UPLOAD_BYTES:
            return _api_error("file_upload_size_restricted")
        alt_txt = params.get("alt_txt")
        if alt_txt is not None and len(str(alt_txt)) > MAX_ALT_TXT:
            return _api_error("alt_txt_too_large")
        with self._lock:
            self._file_seq += 1
            file_id = f"F0SBX{self._file_seq:06d}"
            self._files[file_id] = SlackFile(
                id=file_id,
                name=filename,
                length=length,
                created_at=self.clock(),
                alt_txt=str(alt_txt) if alt_txt else None,
            )
        upload_url = f"{self.base_url}/upload/{file_id}"
        return HttpResponse.json(200, {"ok": True, "upload_url": upload_url, "file_id": file_id})

    def _upload_post(self, req: HttpRequest) -> HttpResponse:
        """Step 2: the bytes, raw or as a multipart form; no token, the URL is the secret.
        Refused unless exactly the announced length arrives."""
        file_id = req.path[len("/upload/") :].strip("/")
        if req.method != "POST":
            return HttpResponse.text(405, "Method Not Allowed")
        content = _upload_content(req)
        if content is None:
            return HttpResponse.text(400, "Bad Request - no file in the multipart form")
        now = self.clock() if req.received_at is None else req.received_at
        with self._lock:
            found = self._files.get(file_id)
            if found is None or found.complete or found.deleted:
                return HttpResponse.text(404, "Not Found")
            if len(content) != found.length:
                return HttpResponse.text(
                    400, f"Bad Request - got {len(content)} bytes, announced {found.length}"
                )
            self._files[file_id] = replace(found, content=content, uploaded_at=now)
        return HttpResponse.text(200, f"OK - {len(content)}")

    def _complete_upload(self, params: dict[str, Any]) -> HttpResponse:
        """Step 3: the files become real; shared into `channel_id` (one message, in the
        thread of `thread_ts`), or private to the uploader without it."""
        wanted = _upload_items(params)
        if wanted is None:
            return _invalid_arguments("files must be a JSON list of {id, title?} objects")
        channels = _share_channels(params)
        thread_ts = str(params.get("thread_ts") or "") or None
        if thread_ts and len(channels) > 1:
            return _invalid_arguments("thread_ts takes exactly one channel")
        with self._lock:
            hidden = set(self.hidden_channels)
        if any(not c or c[0] not in "CDG" or c in hidden for c in channels):
            return _api_error("invalid_channel")
        comment = params.get("initial_comment")
        text = str(comment) if comment else ""
        blocks = None if text else params.get("blocks")  # Slack ignores blocks then
        if blocks is not None:
            errors = [e for e in validate_message({"blocks": blocks}) if not e.startswith("/:")]
            errors += self._slack_file_failures(blocks)
            if errors:
                return _api_error(
                    "invalid_blocks", errors=errors, response_metadata={"messages": errors}
                )
        with self._lock:
            for file_id, _ in wanted:
                found = self._files.get(file_id)
                if found is None or found.complete or found.deleted or found.content is None:
                    why = "no upload" if found is None or found.content is None else "completed"
                    return _api_error(
                        "file_not_found",
                        response_metadata={"messages": [f"[ERROR] {file_id}: {why}"]},
                    )
            now = self.clock()
            posts = [(c, self._new_ts_locked()) for c in channels]
            shares = tuple(FileShare(c, ts, thread_ts) for c, ts in posts)
            for file_id, title in wanted:
                self._files[file_id] = replace(
                    self._files[file_id],
                    title=title if title is not None else self._files[file_id].name,
                    complete=True,
                    completed_at=now,
                    shares=shares,
                )
            infos = [self._file_info(self._files[file_id]) for file_id, _ in wanted]
            for channel, ts in posts:
                message: dict[str, Any] = {
                    "type": "message",
                    "user": BOT_USER_ID,
                    "bot_id": BOT_ID,
                    "ts": ts,
                    "text": text,
                    "files": copy.deepcopy(infos),
                    "upload": True,
                }
                if blocks is not None:
                    message["blocks"] = blocks
                if thread_ts:
                    message["thread_ts"] = thread_ts
                self._messages[(channel, ts)] = message
        return HttpResponse.json(200, {"ok": True, "files": infos})

    def _known_file(self, params: dict[str, Any]) -> SlackFile | HttpResponse:
        """The completed file `file` names, or Slack's error for it."""
        with self._lock:
            found = self._files.get(str(params.get("file") or ""))
        if found is None or not found.complete:
            return _api_error("file_not_found")
        if found.deleted:
            return _api_error("file_deleted")
        return found

    def _files_info(self, params: dict[str, Any]) -> HttpResponse:
        found = self._known_file(params)
        if isinstance(found, HttpResponse):
            return found
        return HttpResponse.json(
            200,
            {
                "ok": True,
                "file": self._file_info(found),
                "comments": [],
                "response_metadata": {"next_cursor": ""},
            },
        )

    def _files_delete(self, params: dict[str, Any]) -> HttpResponse:
        """Messages that showed the file keep a tombstone in its place, as in Slack."""
        found = self._known_file(params)
        if isinstance(found, HttpResponse):
            return found
        with self._lock:
            current = self._files[found.id]
            if current.deleted:  # a concurrent delete got there first
                return _api_error("file_deleted")
            self._files[found.id] = replace(current, deleted=True, deleted_at=self.clock())
            tombstone = {"id": found.id, "mode": "tombstone"}
            for share in current.shares:
                message = self._messages.get((share.channel, share.ts))
                if message is not None:
                    message["files"] = [
                        tombstone if shown.get("id") == found.id else shown
                        for shown in message.get("files") or []
                    ]
        return HttpResponse.json(200, {"ok": True})


_METHODS: dict[str, Callable[[SlackStandIn, dict[str, Any]], HttpResponse]] = {
    "auth.test": SlackStandIn._auth_test,
    "chat.postMessage": SlackStandIn._post_message,
    "chat.postEphemeral": SlackStandIn._post_ephemeral,
    "chat.update": SlackStandIn._update,
    "users.info": SlackStandIn._users_info,
    "usergroups.users.list": SlackStandIn._usergroups_users_list,
    "users.lookupByEmail": SlackStandIn._lookup_by_email,
    "views.publish": SlackStandIn._views_publish,
    "views.open": SlackStandIn._views_open,
    "views.update": SlackStandIn._views_update,
    "reactions.add": SlackStandIn._reactions_add,
    "reactions.remove": SlackStandIn._reactions_remove,
    "conversations.open": SlackStandIn._conversations_open,
    "conversations.info": SlackStandIn._conversations_info,
    "files.getUploadURLExternal": SlackStandIn._get_upload_url,
    "files.completeUploadExternal": SlackStandIn._complete_upload,
    "files.info": SlackStandIn._files_info,
    "files.delete": SlackStandIn._files_delete,
}


#: A trigger_id is good for one views.open within this long of the interaction.
TRIGGER_TTL_S = 3.0


def _json_view(params: dict[str, Any]) -> dict[str, Any] | None:
    view = params.get("view")
    if isinstance(view, str):
        try:
            view = json.loads(view)
        except ValueError:
            return None
    return view if isinstance(view, dict) else None


def _view_problem(view: dict[str, Any]) -> HttpResponse | None:
    """Slack's modal limits: title/submit/close ≤ 24, 1–100 blocks, metadata ≤ 3000,
    input blocks need a submit button."""
    errors: list[str] = []
    blocks = view.get("blocks")
    if view.get("type") != "modal":
        errors.append("view.type must be modal")
    if not isinstance(blocks, list) or not 1 <= len(blocks) <= 100:
        errors.append("view.blocks must hold 1-100 blocks")
        blocks = []
    for key in ("title", "submit", "close"):
        text = (view.get(key) or {}).get("text", "") if key in view else None
        if key == "title" and not text:
            errors.append("view.title is required")
        if text is not None and len(text) > 24:
            errors.append(f"view.{key} longer than 24 characters")
    if len(str(view.get("private_metadata") or "")) > 3000:
        errors.append("view.private_metadata longer than 3000 characters")
    if len(str(view.get("callback_id") or "")) > 255:
        errors.append("view.callback_id longer than 255 characters")
    if any(b.get("type") == "input" for b in blocks) and "submit" not in view:
        errors.append("input blocks need view.submit")
    plain = [b for b in blocks if b.get("type") != "input"]
    errors += [e for e in validate_message({"blocks": plain}) if "blocks >" not in e]
    if errors:
        return _api_error("invalid_arguments", response_metadata={"messages": errors})
    return None


def _api_error(error: str, **extra: Any) -> HttpResponse:
    return HttpResponse.json(200, {"ok": False, "error": error, **extra})


def _invalid_arguments(message: str) -> HttpResponse:
    """Slack's schema error: `invalid_arguments`, the reason in response_metadata."""
    return _api_error("invalid_arguments", response_metadata={"messages": [f"[ERROR] {message}"]})


def _as_int(value: Any) -> int | None:
    """An integer argument, as JSON (a number) or a form (its digits) carries it."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


def _upload_items(params: dict[str, Any]) -> list[tuple[str, str | None]] | None:
    """files.completeUploadExternal's `files`: (id, title) pairs; None if malformed."""
    if not _decode_json_param(params, "files"):
        return None
    items = params.get("files")
    if not isinstance(items, list) or not items:
        return None
    wanted: list[tuple[str, str | None]] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            return None
        title = item.get("title")
        if title is not None and not isinstance(title, str):
            return None
        wanted.append((item["id"], title))
    return list(dict.fromkeys(wanted))


def _share_channels(params: dict[str, Any]) -> list[str]:
    """Where completeUploadExternal shares: `channel_id`, or the older `channels` list."""
    found = [str(params["channel_id"])] if params.get("channel_id") else []
    extra = params.get("channels")
    if isinstance(extra, str):
        extra = extra.split(",")
    if isinstance(extra, list):
        found += [str(c).strip() for c in extra if str(c).strip()]
    return list(dict.fromkeys(found))


def _upload_content(req: HttpRequest) -> bytes | None:
    """The uploaded bytes: the body itself, or a multipart form's file part (`file`, or
    `filename` as in ``curl -F filename=@x.png``). None: a form without one."""
    ctype = req.headers.get("Content-Type") or ""
    if not ctype.lower().startswith("multipart/form-data"):
        return req.body  # slack_sdk sends the raw bytes (urllib labels them form-encoded)
    match = re.search(r'boundary="?([^";]+)"?', ctype)
    if match is None:
        return None
    for part in req.body.split(b"--" + match.group(1).encode())[1:]:
        if part.startswith(b"--"):
            break
        head, sep, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        disposition = next(
            (
                line.decode("latin-1")
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-disposition:")
            ),
            "",
        )
        name = re.search(r'\bname="([^"]*)"', disposition)
        is_file = "filename=" in disposition or (
            name is not None and name[1] in ("file", "filename")
        )
        if sep and is_file:
            return content.removesuffix(b"\r\n")
    return None


def _slack_file_refs(node: Any, pointer: str) -> Iterator[tuple[str, Any]]:
    """Every image's `slack_file` in a message's blocks, with its JSON pointer: image
    blocks, section accessories, context elements."""
    if isinstance(node, dict):
        if node.get("type") == "image" and "slack_file" in node:
            yield f"{pointer}/slack_file", node["slack_file"]
        for key, value in node.items():
            if isinstance(value, dict | list):
                yield from _slack_file_refs(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for n, value in enumerate(node):
            yield from _slack_file_refs(value, f"{pointer}/{n}")


def _dm_channel(user_id: str) -> str:
    return "D" + user_id[1:]


def _decode_json_param(params: dict[str, Any], name: str) -> bool:
    """Form-encoded calls carry ``blocks`` as a JSON string; decode it in place."""
    value = params.get(name)
    if not isinstance(value, str):
        return True
    try:
        params[name] = json.loads(value)
    except ValueError:
        return False
    return True


def _image_failures(blocks: Any) -> list[str]:
    """Slack's error for each image_url it could not download, with its JSON pointer."""
    failures = []
    for n, block in enumerate(blocks if isinstance(blocks, list) else []):
        if not isinstance(block, dict):
            continue
        if block.get("type") == "image" and "image_url" in block:
            failures.append(f"downloading image failed [json-pointer:/blocks/{n}/image_url]")
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and "image_url" in accessory:
            pointer = f"/blocks/{n}/accessory/image_url"
            failures.append(f"downloading image failed [json-pointer:{pointer}]")
    return failures


def _message_problem(
    params: dict[str, Any], images_refused: bool, bad_files: list[str]
) -> HttpResponse | None:
    """The Web API error a posting method would return for this message, if any;
    `bad_files` are the slack_file references Slack could not show."""
    message: dict[str, Any] = {k: params[k] for k in ("text", "blocks") if k in params}
    if not message.get("text") and not message.get("blocks") and not params.get("attachments"):
        return _api_error("no_text")
    errors = [e for e in validate_message(message) if not e.startswith("/:")]
    if images_refused:
        errors += _image_failures(message.get("blocks"))
    errors += bad_files
    if any(e.startswith("/text") for e in errors):
        return _api_error("msg_too_long")
    if errors:
        return _api_error("invalid_blocks", errors=errors, response_metadata={"messages": errors})
    return None


def _parse_post_body(req: HttpRequest) -> tuple[dict[str, Any], bool]:
    """A response_url takes JSON, or a form with a JSON ``payload`` field (webhook style)."""
    raw = req.body.decode("utf-8", "replace")
    ctype = (req.headers.get("Content-Type") or "").lower()
    if "application/x-www-form-urlencoded" in ctype:
        raw = parse_qs(raw).get("payload", [""])[-1]
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {"_raw": raw}, False
    if not isinstance(parsed, dict):
        return {"_raw": raw}, False
    return parsed, True


def _check_response_body(
    body: dict[str, Any], payload_ok: bool, images_refused: bool, bad_files: list[str]
) -> tuple[int, str]:
    if not payload_ok:
        return 400, "invalid_payload"
    if _is_true(body.get("delete_original")):
        return 200, "ok"
    if not body.get("text") and not body.get("blocks"):
        return 400, "no_text"
    errors = validate_message(body)
    if any(e.startswith("/text") for e in errors):
        return 400, "msg_too_long"
    if errors or bad_files or (images_refused and _image_failures(body.get("blocks"))):
        return 400, "invalid_blocks"
    return 200, "ok"
