"""One HTTP outcome from Ekuaibao -> its JSON body or an `EkuaibaoError`: the one error map.

Nothing else in the code base looks at status codes. Exceptions are raised `from None` so a
chained httpx error can never carry the token-bearing URL into a log.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from tasks.ekuaibao import budget
from tasks.ekuaibao.errors import BadRequest, BudgetSpent, RateLimited, Transient, Unavailable
from tasks.ekuaibao.json_answers import Decode, whole

#: 5xx answers worth repeating; others (501, 505…) will not change by asking again.
_TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})


class Forbidden(Exception):
    """A 403 on an API call: the token expired or was revoked. Internal to the client
    (`tasks.ekuaibao.session` renews the token on it)."""


def answer_once(path: str, request: Callable[[], httpx.Response], decode: Decode = whole) -> Any:
    """Run one HTTP request and map its outcome: the one error map for every call. A 200's
    body is read by `decode`."""
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
        raise Forbidden()
    if status == 429:
        raise RateLimited(retry_after(response))
    if status in _TRANSIENT_STATUSES:
        raise Transient(f"Ekuaibao answered HTTP {status} on {path}")
    if status >= 500:
        raise Unavailable(f"Ekuaibao answered HTTP {status} on {path}")
    if status >= 400:
        raise BadRequest(status, error_message(response))
    if status != 200:
        raise Unavailable(f"Ekuaibao answered HTTP {status} on {path}")
    try:
        return decode(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise Unavailable(f"Ekuaibao sent an answer that is not JSON on {path}") from None


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


def error_message(response: httpx.Response) -> str:
    """Ekuaibao's own short words (e.g. 当前页不能为0), from its documented error shapes.

    It reaches the user, so anything else (an HTML page, a stack trace, a long body that
    may echo the request and its token) becomes "no details".
    """
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return short_words(response.text)
    if isinstance(data, dict):
        inner = data.get("value") if isinstance(data.get("value"), dict) else data
        for key in ("errorMessage", "message", "msg"):
            if isinstance(inner, dict) and isinstance(inner.get(key), str):
                return short_words(str(inner[key]))
    return "no details"


def short_words(text: str) -> str:
    text = text.strip()
    if not text or len(text) > 120 or any(c in text for c in "<>\n{}") or "http" in text:
        return "no details"
    if "accessToken" in text or "Traceback" in text:
        return "no details"
    return text
