"""The Celery task never lets Celery drop a lookup's message.

Celery rejects without requeue both a failed task (late acks and no ack on failure) and a
task whose `retry` could not be published; on Redis either deletes the message, and the
person never hears back. These run the real `Task.retry`, with the publish failing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from celery.canvas import Signature
from celery.exceptions import Reject, Retry
from kombu.exceptions import OperationalError

from tasks import invoices
from tasks.contracts import LookupRequest

REQUEST = LookupRequest(
    request_id="req-1", ids=("ID01xO4jZjprrx",), response_url="https://hooks.invalid/x"
).model_dump(mode="json")


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Retries that reached the broker; `failures` publishes fail first."""
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(invoices.time, "sleep", lambda _s: None)
    monkeypatch.setattr(invoices.runtime, "deps", lambda: None)
    invoices.lookup_invoices.push_request(retries=0, called_directly=False, is_eager=False)
    yield sent
    invoices.lookup_invoices.pop_request()


def broker(monkeypatch: pytest.MonkeyPatch, sent: list[dict[str, Any]], failures: int) -> None:
    left = [failures]

    def apply_async(self: Signature, *args: Any, **kwargs: Any) -> None:
        if left[0] > 0:
            left[0] -= 1
            raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        sent.append(dict(self.options))

    monkeypatch.setattr(Signature, "apply_async", apply_async)


def outcome(monkeypatch: pytest.MonkeyPatch, handle: Any) -> BaseException:
    monkeypatch.setattr(invoices, "handle_lookup", handle)
    with pytest.raises((Retry, Reject)) as raised:
        invoices.lookup_invoices.run(REQUEST)
    return raised.value


def test_a_retry_published_while_the_broker_restarts_is_kept(
    monkeypatch: pytest.MonkeyPatch, published: list[dict[str, Any]]
) -> None:
    broker(monkeypatch, published, failures=3)
    raised = outcome(monkeypatch, lambda *_a, **_k: 4.0)
    assert isinstance(raised, Retry)
    assert [options["countdown"] for options in published] == [4.0]


def test_a_broker_that_stays_away_gets_the_message_back(
    monkeypatch: pytest.MonkeyPatch, published: list[dict[str, Any]]
) -> None:
    broker(monkeypatch, published, failures=100)
    raised = outcome(monkeypatch, lambda *_a, **_k: 4.0)
    assert isinstance(raised, Reject) and raised.requeue
    assert published == []


def test_shared_state_failing_outside_the_lookup_is_retried_not_dropped(
    monkeypatch: pytest.MonkeyPatch, published: list[dict[str, Any]]
) -> None:
    import redis

    def handle(*_a: Any, **_k: Any) -> float | None:
        raise redis.exceptions.ConnectionError("Connection refused")

    broker(monkeypatch, published, failures=0)
    raised = outcome(monkeypatch, handle)
    assert isinstance(raised, Retry)
    assert [options["countdown"] for options in published] == [invoices.STATE_RETRY_S]


def test_an_answered_lookup_ends_quietly(
    monkeypatch: pytest.MonkeyPatch, published: list[dict[str, Any]]
) -> None:
    broker(monkeypatch, published, failures=0)
    monkeypatch.setattr(invoices, "handle_lookup", lambda *_a, **_k: None)
    assert invoices.lookup_invoices.run(REQUEST) is None
    assert published == []
