"""The one typed Ekuaibao client: token handling, the calls we make, and error mapping.

Every HTTP outcome is turned into a model or an `EkuaibaoError` in `_answer`; nothing else
in the code base looks at status codes. Exceptions are raised `from None` so a chained
httpx error can never carry the token-bearing URL into a log.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import httpx

from tasks import lean_http
from tasks.ekuaibao import budget
from tasks.ekuaibao.errors import (
    BadRequest,
    BudgetSpent,
    CredentialsRejected,
    EkuaibaoError,
    RateLimited,
    Transient,
    Unavailable,
)
from tasks.ekuaibao.flows import (
    FlowParticipants,
    parse_approve_states,
    parse_flow_details,
    parse_staff_by_email,
    unique_emails,
)
from tasks.ekuaibao.masters import InvoiceMaster, ReportInvoiceRef, parse_report_invoices
from tasks.ekuaibao.models import Attachment, LineItem, MalformedPayload
from tasks.ekuaibao.tokens import AccessToken, TokenStore

log = logging.getLogger(__name__)
T = TypeVar("T")

TOKEN_PATH = "/api/openapi/v1/auth/getAccessToken"  # noqa: S105 (a path, not a secret)
#: §1: the base URL of a tenant's platform, by corporation id (no token needed).
LOCATION_PATH = "/api/openapi/v2/location"
DETAIL_BATCH_PATH = "/api/openapi/v2/extension/INVOICE/object/invoice/detailBatch"
INVOICE_URL_PATH = "/api/openapi/v2/extension/INVOICE/url"
#: §5 master search; `{object_id}` is a §5 objectId such as `invoice` or `taxi`.
MASTER_SEARCH_PATH = "/api/openapi/v2/extension/INVOICE/object/{object_id}/search"
#: §4 report (flow) code or id -> its invoice ids, item ids and types.
FLOW_INVOICE_SEARCH_PATH = "/api/openapi/v2/extension/flow/INVOICE/search"
#: §8 staff look-up: `{"type":"MAIL","conditionIds":[...]}`; active staff only.
STAFF_IDS_PATH = "/api/openapi/v1/staffs/getStaffIds"
#: §8 report details (GET, `flowId` in the query).
FLOW_DETAILS_PATH = "/api/openapi/v1.1/flowDetails"
#: §8 current approvers (GET); the ids go in the path inside brackets, sent as %5B…%5D
#: because raw `[`/`]` are not legal in a path and strict servers refuse them.
APPROVE_STATES_PATH = "/api/openapi/v2/approveStates/%5B{flow_ids}%5D"
#: A flow id goes into the approveStates path: letters, digits, `_`, `-`, `$` only.
_FLOW_ID_RE = re.compile(r"[A-Za-z0-9_$-]+")
#: An objectId goes into the URL path, so it must be a plain identifier (no `/`, `..`).
_OBJECT_ID_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: No batch maximum is documented; 100 per call is the documented advice.
BATCH_SIZE = 100
#: Renew a cached token this long before Ekuaibao's expireTime.
TOKEN_MARGIN_S = 300
#: Ekuaibao 1.17.0: a brand-new token may get a 403 for a moment; wait and retry once.
FRESH_TOKEN_S = 10
FRESH_TOKEN_WAIT_S = 1.5
#: A transient failure of one call (timeout, reset, 5xx, 429) is repeated at once, up to
#: this many times, after short jittered pauses (0.1-0.2, 0.2-0.4, 0.4-0.8 s)...
CALL_RETRIES = 3
CALL_RETRY_BASE_S = 0.2
#: ...while the call has taken less than this (two 10-second timeouts end it), and unless
#: a 429 asks for longer than CALL_RETRY_MAX_ASKED_S: then the lookup's own backoff takes over.
CALL_RETRY_WINDOW_S = 12.0
CALL_RETRY_MAX_ASKED_S = 5.0
#: 5xx answers worth repeating; others (501, 505…) will not change by asking again.
_TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})


class _Forbidden(Exception):
    """A 403 on an API call: the token expired or was revoked. Internal to the client."""


@dataclass(frozen=True)
class Credentials:
    app_key: str
    app_security: str

    def __repr__(self) -> str:
        return "Credentials(***)"


@dataclass(frozen=True)
class InvoiceData:
    """What one lookup fetched, with the time the links were signed."""

    lines: tuple[LineItem, ...]
    attachments: tuple[Attachment, ...]
    fetched_at: float


class EkuaibaoClient:
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

    # -- the calls ---------------------------------------------------------------------

    def line_items(self, invoice_ids: Sequence[str]) -> list[LineItem]:
        items: list[LineItem] = []
        for chunk in _chunks(invoice_ids):
            body = self._call(DETAIL_BATCH_PATH, {"invoiceIds": list(chunk)})
            for raw in _items(body):
                items.append(_parse(LineItem.from_api, raw))
        return items

    def attachments(
        self, invoice_ids: Sequence[str], fetched_at: float | None = None
    ) -> list[Attachment]:
        when = self._clock() if fetched_at is None else fetched_at
        found: list[Attachment] = []
        for chunk in _chunks(invoice_ids):
            body = self._call(INVOICE_URL_PATH, {"invoiceId": list(chunk)})
            for raw in _items(body):
                found.append(_parse(lambda r: Attachment.from_api(r, when), raw))
        return found

    def invoice_masters(self, object_id: str, invoice_ids: Sequence[str]) -> list[InvoiceMaster]:
        """Master records (§5) of one type; unknown ids are simply absent from the result.

        Ids are deduplicated and sent ≤100 per call. Raises ValueError for an objectId that
        is not a plain identifier (it becomes part of the URL path).
        """
        if not _OBJECT_ID_RE.fullmatch(object_id):
            raise ValueError(f"not an Ekuaibao objectId: {object_id!r}")
        path = MASTER_SEARCH_PATH.format(object_id=object_id)
        parse = functools.partial(InvoiceMaster.from_api, object_id)
        found: list[InvoiceMaster] = []
        for chunk in _chunks(list(dict.fromkeys(invoice_ids))):
            body = self._call(path, {"ids": list(chunk)})
            found.extend(_parse(parse, raw) for raw in _items(body))
        return found

    def report_invoices(
        self, kind: Literal["code", "id"], values: Sequence[str]
    ) -> dict[str, list[ReportInvoiceRef]]:
        """Invoices on reports (§4), keyed by the code or id as passed; unknown keys are absent."""
        found: dict[str, list[ReportInvoiceRef]] = {}
        for chunk in _chunks(list(dict.fromkeys(values))):
            body = self._call(FLOW_INVOICE_SEARCH_PATH, {"type": kind, "codeOrIds": list(chunk)})
            found.update(_parse(parse_report_invoices, body))
        return found

    def staff_ids_by_email(self, emails: Sequence[str]) -> dict[str, str]:
        """Active staff by email (§8 getStaffIds, type MAIL): lower-cased email -> staff id.

        Emails are sent as given (deduplicated case-insensitively), ≤100 per call, and
        matched back case-insensitively. Unknown or inactive staff are simply absent.
        """
        found: dict[str, str] = {}
        for chunk in _chunks(unique_emails(emails)):
            body = self._call(STAFF_IDS_PATH, {"type": "MAIL", "conditionIds": list(chunk)})
            found.update(_parse(functools.partial(parse_staff_by_email, chunk), body))
        return found

    def flow_participants(self, flow_id: str) -> FlowParticipants:
        """Submitter and approvers of one report: its history (flowDetails) plus its
        current approvers (approveStates).

        Raises BadRequest with status 412 when the report does not exist or was deleted
        (an empty `value` is treated the same), and ValueError for a flow id that could
        not safely go into a URL path.
        """
        if not _FLOW_ID_RE.fullmatch(flow_id):
            raise ValueError(f"not an Ekuaibao flow id: {flow_id!r}")
        body = self._call_get(FLOW_DETAILS_PATH, {"flowId": flow_id})
        participants = _parse(functools.partial(parse_flow_details, flow_id), body)
        if participants is None:
            raise BadRequest(412, "单据不存在 (empty flowDetails answer)")
        states = self._call_get(APPROVE_STATES_PATH.format(flow_ids=flow_id), {})
        current = _parse(parse_approve_states, states).get(flow_id, frozenset())
        return dataclasses.replace(participants, approver_ids=participants.approver_ids | current)

    def get(self, path: str, query: dict[str, str]) -> Any:
        """Any other documented GET (tasks/ekuaibao/review.py), with the shared token."""
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
            return self._answer_once(
                path,
                lambda: lean_http.send(self._http, "POST", path, params=params, json_body=body),
            )

        return self._authorized(path, send)

    # -- token handling ----------------------------------------------------------------

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
        except _Forbidden:
            log.error(
                "Ekuaibao rejected the bot's credentials (403 on getAccessToken): check "
                "EKUAIBAO_APP_KEY, EKUAIBAO_APP_SECURITY and EKUAIBAO_BASE_URL"
            )
            raise CredentialsRejected("Ekuaibao rejected the app key/security") from None
        value = data.get("value") if isinstance(data, dict) else None
        if not isinstance(value, dict):
            raise Unavailable("Ekuaibao's token answer had no value")
        return value

    def _call(self, path: str, body: dict[str, Any]) -> Any:
        """A POST API call with the shared token (see `_authorized`)."""
        return self._authorized(path, lambda token: self._send(path, token, body))

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
        except _Forbidden:
            pass
        if self._clock() - token.issued_at < FRESH_TOKEN_S:
            log.info("403 on a brand-new Ekuaibao token; waiting once before renewing it")
            self._sleep(FRESH_TOKEN_WAIT_S)
            try:
                return send(token.value)
            except _Forbidden:
                pass
        log.info("Ekuaibao refused the access token; fetching a new one")
        token = self._renew(token)
        try:
            return send(token.value)
        except _Forbidden:
            log.error(
                "Ekuaibao refused a fresh access token (403 on %s): the tenant may lack "
                "开放接口/发票管理, or EKUAIBAO_BASE_URL may not match the tenant's platform",
                path,
            )
            self._tokens.discard(token.value)
            self._known = None
            raise CredentialsRejected("Ekuaibao refused a fresh access token") from None

    # -- HTTP and the error map ----------------------------------------------------------

    def _send(self, path: str, access_token: str | None, body: dict[str, Any]) -> Any:
        params = {"accessToken": access_token} if access_token else None
        return self._answer(
            path, lambda: lean_http.send(self._http, "POST", path, params=params, json_body=body)
        )

    def _send_get(self, path: str, access_token: str, query: dict[str, str]) -> Any:
        params = {**query, "accessToken": access_token}
        return self._answer(path, lambda: lean_http.send(self._http, "GET", path, params=params))

    def _answer(self, path: str, request: Callable[[], httpx.Response]) -> Any:
        """Run one HTTP request, repeating it after a transient failure; the lookup's own
        (long) backoff starts only when the repeats did not help."""
        started = self._clock()
        for attempt in range(CALL_RETRIES + 1):
            try:
                return self._answer_once(path, request)
            except Transient as exc:
                asked = exc.retry_after_s if isinstance(exc, RateLimited) else None
                pause = CALL_RETRY_BASE_S * 2**attempt * random.uniform(0.5, 1.0)  # noqa: S311
                if (
                    attempt == CALL_RETRIES
                    or self._clock() - started > CALL_RETRY_WINDOW_S
                    or (asked or 0.0) > CALL_RETRY_MAX_ASKED_S
                ):
                    raise
                log.info("%s; repeating the call in %.2f s", exc, max(pause, asked or 0.0))
                self._sleep(max(pause, asked or 0.0))
        raise AssertionError("unreachable")  # pragma: no cover

    def _answer_once(self, path: str, request: Callable[[], httpx.Response]) -> Any:
        """Run one HTTP request and map its outcome: the one error map for every call."""
        try:
            response = request()
        except budget.RateLimited as exc:  # our own budget: not Ekuaibao's fault
            raise BudgetSpent(exc.wait_s, exc.ahead) from None
        except httpx.TimeoutException:
            raise Transient(f"Ekuaibao timed out on {path}") from None
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise Transient(f"could not reach Ekuaibao ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise Unavailable(f"could not reach Ekuaibao ({type(exc).__name__})") from None
        status = response.status_code
        if status == 403:
            raise _Forbidden()
        if status == 429:
            raise RateLimited(_retry_after(response))
        if status in _TRANSIENT_STATUSES:
            raise Transient(f"Ekuaibao answered HTTP {status} on {path}")
        if status >= 500:
            raise Unavailable(f"Ekuaibao answered HTTP {status} on {path}")
        if status >= 400:
            raise BadRequest(status, _error_message(response))
        if status != 200:
            raise Unavailable(f"Ekuaibao answered HTTP {status} on {path}")
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise Unavailable(f"Ekuaibao sent an answer that is not JSON on {path}") from None


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i : i + BATCH_SIZE] for i in range(0, len(ids), BATCH_SIZE)]


def _items(body: Any) -> list[Any]:
    """`{"items": [...]}`; an empty list is Ekuaibao's way of saying "not found"."""
    if not isinstance(body, dict) or not isinstance(body.get("items", []), list):
        raise Unavailable("Ekuaibao's answer did not have the documented `items` list")
    items: list[Any] = body.get("items") or []
    return items


def _parse(parse: Callable[[Any], T], raw: Any) -> T:
    try:
        return parse(raw)
    except (MalformedPayload, ValueError, TypeError) as exc:
        raise Unavailable(f"Ekuaibao sent a malformed item: {exc}") from None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


def _error_message(response: httpx.Response) -> str:
    """Ekuaibao's own short words (e.g. 当前页不能为0), from its documented error shapes.

    It reaches the user, so anything else (an HTML page, a stack trace, a long body that
    may echo the request and its token) becomes "no details".
    """
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _short_words(response.text)
    if isinstance(data, dict):
        inner = data.get("value") if isinstance(data.get("value"), dict) else data
        for key in ("errorMessage", "message", "msg"):
            if isinstance(inner, dict) and isinstance(inner.get(key), str):
                return _short_words(str(inner[key]))
    return "no details"


def _short_words(text: str) -> str:
    text = text.strip()
    if not text or len(text) > 120 or any(c in text for c in "<>\n{}") or "http" in text:
        return "no details"
    if "accessToken" in text or "Traceback" in text:
        return "no details"
    return text


__all__ = [
    "BadRequest",
    "BudgetSpent",
    "Credentials",
    "CredentialsRejected",
    "EkuaibaoClient",
    "EkuaibaoError",
    "FlowParticipants",
    "InvoiceData",
    "RateLimited",
    "Unavailable",
]
