"""What one lookup does, independent of Celery: fetch, assemble, render, reply once.

Returns the delay before a retry when Ekuaibao is failing and time is left; the Celery task
turns that into `self.retry`. Every other path ends in exactly one final reply.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from tasks import render
from tasks.contracts import LookupRequest
from tasks.ekuaibao.client import EkuaibaoClient
from tasks.ekuaibao.errors import BadRequest, CredentialsRejected, RateLimited, Unavailable
from tasks.lookup import assemble
from tasks.reply import Replier, ReplyFailed
from tasks.texts import Texts

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 300.0


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float = 2.0
    window_s: float = 25 * 60

    def delay(self, attempt: int, asked: float | None = None) -> float:
        """Exponential backoff with jitter; never shorter than what Ekuaibao asked for."""
        jitter: float = random.uniform(0.5, 1.0)  # noqa: S311 (not cryptographic)
        delay = min(self.base_s * 2.0**attempt, MAX_BACKOFF_S) * jitter
        return max(delay, asked or 0.0)


@dataclass
class Deps:
    client: EkuaibaoClient
    replier: Replier
    texts: Texts
    retry: RetryPolicy
    clock: Callable[[], float] = time.time


def handle_lookup(request: LookupRequest, deps: Deps, attempt: int = 0) -> float | None:
    """Run one attempt. Returns seconds until the next attempt, or None when answered."""
    started = deps.clock()
    texts, ref = deps.texts, request.request_id[:8]
    try:
        data = deps.client.lookup(request.ids)
    except Unavailable as exc:
        asked = exc.retry_after_s if isinstance(exc, RateLimited) else None
        delay = deps.retry.delay(attempt, asked)
        give_up_at = min(request.deadline, request.received_at + deps.retry.window_s)
        if started + delay < give_up_at:
            log.warning(
                "lookup %s attempt %d: %s; retrying in %.1f s",
                request.request_id,
                attempt + 1,
                exc,
                delay,
            )
            if attempt == 0:
                minutes = max(1, round((give_up_at - started) / 60))
                _reply(deps, request, [render.simple(texts.retrying.format(minutes=minutes))])
            return delay
        log.error(
            "lookup %s: giving up after %d attempts: %s", request.request_id, attempt + 1, exc
        )
        minutes = max(1, round((started - request.received_at) / 60))
        _reply(deps, request, [render.simple(texts.unavailable.format(minutes=minutes, ref=ref))])
        return None
    except CredentialsRejected as exc:
        log.error("lookup %s: %s (admin: check the Ekuaibao settings)", request.request_id, exc)
        _reply(deps, request, [render.simple(texts.credentials_rejected.format(ref=ref))])
        return None
    except BadRequest as exc:
        log.error("lookup %s: %s", request.request_id, exc)
        reason = render.escape(str(exc).split(": ", 1)[-1])
        _reply(deps, request, [render.simple(texts.bad_request.format(reason=reason, ref=ref))])
        return None
    except Exception:
        log.exception("lookup %s failed unexpectedly", request.request_id)
        _reply(deps, request, [render.simple(texts.internal_error.format(ref=ref))])
        return None
    result = assemble(request.ids, data)
    messages = render.lookup_messages(result, texts)
    _reply(deps, request, messages)
    log.info(
        "lookup %s: %d ids, %d found, %d not found, %d message(s), %.0f ms",
        request.request_id,
        len(request.ids),
        len(result.invoices),
        len(result.not_found),
        len(messages),
        (deps.clock() - started) * 1000,
    )
    return None


def _reply(deps: Deps, request: LookupRequest, messages: list[render.Message]) -> None:
    try:
        deps.replier.send_all(request.response_url, messages)
    except ReplyFailed as exc:
        log.error("lookup %s: could not deliver the reply: %s", request.request_id, exc)
