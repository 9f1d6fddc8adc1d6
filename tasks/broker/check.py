"""Is the broker there, and does it let us in? One bounded check, shared by every command.

Start-up must tell a broker that is down (worth waiting for) from one that refuses us
(permanent: waiting only repeats the same refusal), within a few seconds and without
kombu's own retry loops, so each case gets one clear line instead of a traceback or a
restart loop.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from tasks.redact import redact

Verdict = Literal["ok", "unreachable", "refused"]


@dataclass(frozen=True)
class BrokerCheck:
    verdict: Verdict
    #: Short and free of secrets: what went wrong, for the one line that says so.
    reason: str = ""
    #: "refused" because of the user name or password in the URL.
    credentials: bool = False

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"


OK = BrokerCheck("ok")


def broker_check(url: str, timeout: float = 3.0) -> BrokerCheck:
    """Connect once (no retries) and, for Redis, PING; never longer than about `timeout`."""
    result: list[BrokerCheck] = []
    # A thread, so a broker that accepts and then never answers cannot outlast the bound,
    # whatever the client library's own timeouts do.
    thread = threading.Thread(
        target=lambda: result.append(_check(url, timeout)), name="broker-check", daemon=True
    )
    thread.start()
    thread.join(timeout + 1.0)
    if not result:
        return BrokerCheck("unreachable", f"no answer in {timeout:g} s")
    return result[0]


def where(url: str) -> str:
    """The broker's address without user name or password, for messages."""
    if url.startswith("embedded://"):
        return "embedded (" + url.removeprefix("embedded://") + ")"
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return redact(f"{parts.scheme}://{host}{parts.path}")


def describe(check: BrokerCheck, url: str) -> str:
    """The one line for a failed check: what is wrong and what to do about it."""
    at = where(url)
    if check.verdict == "refused" and check.credentials:
        return (
            f"the broker at {at} refused the credentials in CELERY_BROKER_URL "
            f"({check.reason}): fix the user name or password"
        )
    if check.verdict == "refused":
        return f"the broker at {at} refused us ({check.reason}): check CELERY_BROKER_URL"
    return (
        f"the broker at {at} is not answering ({check.reason}): start it, or check "
        "CELERY_BROKER_URL"
    )


def _check(url: str, timeout: float) -> BrokerCheck:
    scheme = url.split("://", 1)[0].lower()
    try:
        if scheme in ("redis", "rediss"):
            return _check_redis(url, timeout)
        return _check_kombu(url, timeout)
    except Exception as exc:  # anything unforeseen: report it, never crash start-up
        return _unreachable(exc, timeout)


def _check_redis(url: str, timeout: float) -> BrokerCheck:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = redis.Redis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )
    try:
        client.ping()
    except redis.AuthenticationError as exc:
        return BrokerCheck("refused", _short(exc), credentials=True)
    except redis.ResponseError as exc:  # NOPERM, a database index out of range…
        return BrokerCheck("refused", _short(exc))
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        return _unreachable(exc, timeout)
    finally:
        client.close()
    return OK


def _check_kombu(url: str, timeout: float) -> BrokerCheck:
    """AMQP and the server-less transports, through the transport Celery itself will use."""
    from kombu import Connection

    from tasks.broker import embedded

    embedded.register()
    connection = Connection(url, connect_timeout=timeout)
    try:
        connection.ensure_connection(max_retries=0, reraise_as_library_errors=False)
        connection.channel().close()  # type: ignore[attr-defined]  # a gap in the stubs
    except Exception as exc:
        return _classify(exc, timeout)
    finally:
        connection.release()
    return OK


def _classify(exc: BaseException, timeout: float) -> BrokerCheck:
    try:
        from amqp import exceptions as amqp_errors
    except ImportError:  # pragma: no cover - amqp comes with kombu
        amqp_errors = None  # type: ignore[assignment]
    if amqp_errors is not None:
        if isinstance(exc, amqp_errors.AccessRefused):
            # 403 is both a failed login and a user without rights on the vhost
            login = "login" in str(exc).lower()
            return BrokerCheck("refused", "ACCESS_REFUSED", credentials=login)
        if isinstance(exc, amqp_errors.NotAllowed):  # e.g. the vhost does not exist
            return BrokerCheck("refused", _short(exc))
    return _unreachable(exc, timeout)


def _unreachable(exc: BaseException, timeout: float) -> BrokerCheck:
    text = str(exc).lower()
    if isinstance(exc, ConnectionRefusedError) or "connection refused" in text:
        return BrokerCheck("unreachable", "connection refused")
    if isinstance(exc, TimeoutError) or "timeout" in text or "timed out" in text:
        return BrokerCheck("unreachable", f"no answer in {timeout:g} s")
    return BrokerCheck("unreachable", _short(exc))


_USERINFO = re.compile(r"//[^/@\s]*@")


def _short(exc: BaseException) -> str:
    """The first line of an error, without any user name or password it might echo."""
    text = str(exc).strip() or type(exc).__name__
    return redact(_USERINFO.sub("//", text.splitlines()[0])).rstrip(".")[:120]
