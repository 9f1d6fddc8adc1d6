"""A session with Ekuaibao: the shared access token, and one HTTP call sent with it.

The token is fetched once for every worker (the `TokenStore`), renewed on a 403, and kept
in this process until it nears its expiry. A call that fails for a moment is repeated here;
its outcome is mapped in `tasks.ekuaibao.answers`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx

from tasks import lean_http
from tasks.ekuaibao.answers import Forbidden, answer_once
from tasks.ekuaibao.errors import CredentialsRejected, RateLimited, Transient, Unavailable
from tasks.ekuaibao.json_answers import Decode, whole
from tasks.ekuaibao.tokens import AccessToken, TokenStore

log = logging.getLogger(__name__)

TOKEN_PATH = "/api/openapi/v1/auth/getAccessToken"  # noqa: S105 (a path, not a secret)
#: §1: the base URL of a tenant's platform, by corporation id (no token needed).
LOCATION_PATH = "/api/openapi/v2/location"
#: Renew a cached token this long before Ekuaibao's expireTime.
TOKEN_MARGIN_S = 300
#: Ekuaibao 1.17.0: a brand-new token may get a 403 for a moment; wait and retry once.
FRESH_TOKEN_S = 10
FRESH_TOKEN_WAIT_S = 1.5
#: A transient failure of one call (timeout, reset, 5xx, 429) is repeated at once, after
#: jittered pauses that double from 0.1-0.2 s up to 0.5-1 s, for CALL_RETRY_WINDOW_S after
#: its first failure: about eight tries, so at 30 % failures a call fails through the
#: window once in 15 000 (0.3⁸), and a lookup whose calls run at the same time still
#: answers within ~7 s (a call timing out after 10 s is tried twice). Each try is a call
#: on the shared budget, and one that succeeded is never repeated.
CALL_RETRY_BASE_S = 0.2
CALL_RETRY_MAX_PAUSE_S = 1.0
CALL_RETRY_WINDOW_S = 6.0
#: ...and at most this many tries in all, whatever the clock says: each is a budget slot.
CALL_TRIES_MAX = 10
#: A 429 asking for longer than this is left to the lookup's own backoff.
CALL_RETRY_MAX_ASKED_S = 5.0
#: Set by whoever the calls are for (a lookup): no repeat starts after this time, when an
#: answer could no longer be used.
retry_until: ContextVar[float | None] = ContextVar("ekuaibao_retry_until", default=None)


@dataclass(frozen=True)
class Credentials:
    app_key: str
    app_security: str

    def __repr__(self) -> str:
        return "Credentials(***)"


class Session:
    """The token and the HTTP calls every Ekuaibao API shares (`EkuaibaoClient` adds the typed
    calls)."""

    def __init__(
        self,
        http: httpx.Client,
        credentials: Credentials,
        tokens: TokenStore,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._http = http
        self._credentials = credentials
        self._tokens = tokens
        self._clock = clock
        self._sleep = sleep
        #: This process's copy of the shared token: the store is read only when it is near
        #: its expiry or refused (a Redis round trip per call saved).
        self._known: AccessToken | None = None

    def get(self, path: str, query: dict[str, str]) -> Any:
        """Any other documented GET (tasks/ekuaibao/approvals.py), with the shared token."""
        return self._call_get(path, query)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        """Any other documented POST, with the shared token."""
        return self._call(path, body)

    def post_once(self, path: str, query: dict[str, str], body: dict[str, Any]) -> Any:
        """A POST that acts (approve, comment): sent once, never repeated after a timeout or
        a reset, since Ekuaibao may have taken it. Only a refused token is renewed (403:
        nothing was done)."""

        def send(token: str) -> Any:
            params = {**query, "accessToken": token}
            return answer_once(
                path,
                lambda: lean_http.send(self._http, "POST", path, params=params, json_body=body),
            )

        return self._authorized(path, send)

    def _token(self) -> AccessToken:
        now = self._clock()
        known = self._known
        if known is not None and known.usable(now, TOKEN_MARGIN_S):
            return known
        token = self._tokens.load()
        if token is not None and token.usable(now, TOKEN_MARGIN_S):
            self._known = token
            return token
        with self._tokens.lock():
            token = self._tokens.load()  # another worker may have fetched it meanwhile
            if token is None or not token.usable(self._clock(), TOKEN_MARGIN_S):
                token = self._fetch_token()
                self._tokens.save(token)
            self._known = token
            return token

    def _renew(self, refused: AccessToken) -> AccessToken:
        with self._tokens.lock():
            current = self._tokens.load()
            if current is None or current.value == refused.value:
                self._tokens.discard(refused.value)
                current = self._fetch_token()
                self._tokens.save(current)
            self._known = current
            return current

    def tenant_id(self) -> str:
        """The credentials' corporationId, from a getAccessToken made now whatever is cached:
        proof that the credentials and base URL work today. The new token is not kept."""
        value = self._token_answer()
        corporation = value.get("corporationId")
        if not isinstance(corporation, str) or not corporation:
            raise Unavailable("Ekuaibao's token answer had no corporationId")
        return corporation

    def platform_url(self, corporation_id: str) -> str:
        """§1 location: the base URL of the tenant's platform, without a trailing slash."""
        body = self._answer(
            LOCATION_PATH,
            lambda: lean_http.send(
                self._http, "GET", LOCATION_PATH, params={"corpId": corporation_id}
            ),
        )
        value = body.get("value") if isinstance(body, dict) else None
        if not isinstance(value, str) or not value.startswith(("https://", "http://")):
            raise Unavailable("Ekuaibao's location answer had no URL")
        return value.rstrip("/")

    def _fetch_token(self) -> AccessToken:
        value = self._token_answer()
        access, expire = value.get("accessToken"), value.get("expireTime")
        if not isinstance(access, str) or not access or not isinstance(expire, int | float):
            raise Unavailable("Ekuaibao's token answer was incomplete")
        log.info("fetched a new Ekuaibao access token (valid until %d ms)", int(expire))
        return AccessToken(access, int(expire), self._clock())

    def _token_answer(self) -> dict[str, Any]:
        """getAccessToken's `value`; a 403 means the key, security or base URL is wrong."""
        body = {
            "appKey": self._credentials.app_key,
            "appSecurity": self._credentials.app_security,
        }
        try:
            data = self._send(TOKEN_PATH, None, body)
        except Forbidden:
            log.error(
                "Ekuaibao rejected the bot's credentials (403 on getAccessToken): check "
                "EKUAIBAO_APP_KEY, EKUAIBAO_APP_SECURITY and EKUAIBAO_BASE_URL"
            )
            raise CredentialsRejected("Ekuaibao rejected the app key/security") from None
        value = data.get("value") if isinstance(data, dict) else None
        if not isinstance(value, dict):
            raise Unavailable("Ekuaibao's token answer had no value")
        return value

    def _call(self, path: str, body: dict[str, Any], decode: Decode = whole) -> Any:
        """A POST API call with the shared token (see `_authorized`), its answer read by
        `decode`."""
        return self._authorized(path, lambda token: self._send(path, token, body, decode))

    def _call_get(self, path: str, query: dict[str, str]) -> Any:
        """A GET API call with the shared token (see `_authorized`); query before the token."""
        return self._authorized(path, lambda token: self._send_get(path, token, query))

    def _authorized(self, path: str, send: Callable[[str], Any]) -> Any:
        """`send(token)` with the shared token: on 403, one renewal, then give up clearly.

        A 403 on a seconds-old token is first given one short wait (Ekuaibao's known lag).
        """
        token = self._token()
        try:
            return send(token.value)
        except Forbidden:
            pass
        if self._clock() - token.issued_at < FRESH_TOKEN_S:
            log.info("403 on a brand-new Ekuaibao token; waiting once before renewing it")
            self._sleep(FRESH_TOKEN_WAIT_S)
            try:
                return send(token.value)
            except Forbidden:
                pass
        log.info("Ekuaibao refused the access token; fetching a new one")
        token = self._renew(token)
        try:
            return send(token.value)
        except Forbidden:
            log.error(
                "Ekuaibao refused a fresh access token (403 on %s): the tenant may lack "
                "开放接口/发票管理, or EKUAIBAO_BASE_URL may not match the tenant's platform",
                path,
            )
            self._tokens.discard(token.value)
            self._known = None
            raise CredentialsRejected("Ekuaibao refused a fresh access token") from None

    # -- HTTP and the error map ----------------------------------------------------------

    def _send(
        self, path: str, access_token: str | None, body: dict[str, Any], decode: Decode = whole
    ) -> Any:
        params = {"accessToken": access_token} if access_token else None
        return self._answer(
            path,
            lambda: lean_http.send(self._http, "POST", path, params=params, json_body=body),
            decode,
        )

    def _send_get(self, path: str, access_token: str, query: dict[str, str]) -> Any:
        params = {**query, "accessToken": access_token}
        return self._answer(path, lambda: lean_http.send(self._http, "GET", path, params=params))

    def _answer(
        self, path: str, request: Callable[[], httpx.Response], decode: Decode = whole
    ) -> Any:
        """Run one HTTP request, repeating it after a transient failure while the repeat
        can still help (`repeat_in`); the lookup's own (long) backoff starts only after."""
        first_failed: float | None = None
        for attempt in range(CALL_TRIES_MAX):
            try:
                return answer_once(path, request, decode)
            except Transient as exc:
                now = self._clock()
                first_failed = now if first_failed is None else first_failed
                pause = repeat_in(exc, attempt, now - first_failed, now, retry_until.get())
                if pause is None or attempt == CALL_TRIES_MAX - 1:
                    raise
                log.info("%s; repeating the call in %.2f s", exc, pause)
                self._sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover


def repeat_in(
    exc: Transient, attempt: int, failing_s: float, now: float, until: float | None
) -> float | None:
    """The pause before repeating a call that failed `attempt + 1` times and has been failing
    for `failing_s`, or None when it should not be repeated: past its window, past `until`,
    or a 429 asking for longer than the lookup's backoff would wait."""
    asked = exc.retry_after_s if isinstance(exc, RateLimited) else None
    if (asked or 0.0) > CALL_RETRY_MAX_ASKED_S:
        return None
    doubled = min(CALL_RETRY_BASE_S * 2.0**attempt, CALL_RETRY_MAX_PAUSE_S)
    pause = max(doubled * random.uniform(0.5, 1.0), asked or 0.0)  # noqa: S311
    if failing_s + pause > CALL_RETRY_WINDOW_S:
        return None
    if until is not None and now + pause >= until:
        return None
    return pause
