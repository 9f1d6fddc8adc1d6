"""What a task message's headers say of its arguments: ids only, on every publish.

Runs Celery's real publish path (`send_task`, `Task.retry`) into kombu's in-memory broker
and reads the message back from its queue, as a monitoring tool would.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery
from kombu import Connection

import tasks.celery_app  # noqa: F401  (connects the publish hook, as every publisher does)
from tasks import contracts
from tasks.celery_app import QUEUE

RESPONSE_URL = "https://hooks.slack.com/commands/T0001/1234/SeCrEtPaRt"
COMMENT = "private remark 私密"
PAYLOAD_TEXT = "phone 13800138000"
TASK_NAMES = sorted(v for k, v in vars(contracts).items() if k.endswith("_TASK"))


def message_for(name: str) -> dict[str, Any]:
    """One argument in each task's shape, every field holding something secret."""
    return {
        "request_id": "req-1",
        "ids": ["ID01xO4jZjprrx", "ID01other"],
        "report": "B23001249",
        "text_key": "dm_hint",
        "kind": "card",
        "step": "decide",
        "what": "approve",
        "user_id": "U0SANDBOX",
        "decision_id": "abcd1234",
        "flow_id": "ID01flow",
        "response_url": RESPONSE_URL,
        "comment": COMMENT,
        "payload": {"text": PAYLOAD_TEXT, "url": RESPONSE_URL},
    }


@pytest.fixture
def app() -> Iterator[Celery]:
    celery = Celery("headers", broker="memory://", set_as_current=False)
    celery.conf.update(task_default_queue=QUEUE, task_serializer="json")
    with Connection("memory://") as connection:
        connection.SimpleQueue(QUEUE).clear()
    yield celery


def published_headers(app: Celery) -> list[dict[str, Any]]:
    out = []
    with app.connection_for_write() as connection:
        queue = connection.SimpleQueue(QUEUE)
        while queue.qsize():
            message = queue.get(timeout=1)
            out.append(dict(message.headers))
            message.ack()
    return out


def assert_nothing_secret(headers: dict[str, Any]) -> None:
    text = repr(headers)
    for secret in ("SeCrEtPaRt", "hooks.slack.com", COMMENT, "13800138000", "私密"):
        assert secret not in text, text


@pytest.mark.parametrize("name", TASK_NAMES)
def test_a_first_publish_shows_only_ids(app: Celery, name: str) -> None:
    app.send_task(name, args=[message_for(name)])
    [headers] = published_headers(app)
    assert_nothing_secret(headers)
    assert headers["argsrepr"].startswith("(" + name.rsplit(".", 1)[-1])
    assert headers["kwargsrepr"] == "{}"


@pytest.mark.parametrize("name", TASK_NAMES)
def test_a_retry_shows_only_ids(app: Celery, name: str) -> None:
    """`Task.retry` rebuilds the message from the request: no argsrepr of ours unless the
    publish hook writes it again."""

    @app.task(name=name, bind=True, shared=False, max_retries=None)
    def task(self: Any, request: dict[str, Any]) -> None:
        raise AssertionError("not run")

    task.push_request(args=[message_for(name)], kwargs={}, retries=0, called_directly=False)
    try:
        task.retry(countdown=30, throw=False)
    finally:
        task.pop_request()
    [headers] = published_headers(app)
    assert headers["retries"] == 1 and headers["eta"]
    assert_nothing_secret(headers)
    assert headers["argsrepr"].startswith("(" + name.rsplit(".", 1)[-1])


def test_the_summary_says_which_lookup_and_how_many_ids() -> None:
    summary = contracts.safe_argsrepr(contracts.LOOKUP_TASK, [message_for("x")])
    assert summary == "(lookup_invoices request_id=req-1 report=B23001249 ids=2)"


def test_a_field_that_is_not_an_id_shows_as_a_question_mark() -> None:
    odd = {**message_for("x"), "request_id": RESPONSE_URL, "user_id": "U1\nforged line"}
    summary = contracts.safe_argsrepr(contracts.DECIDE_TASK, [odd])
    assert "hooks" not in summary and "\n" not in summary and "user_id=?" in summary


def test_an_unknown_task_shows_no_arguments_at_all(app: Celery) -> None:
    app.send_task("someone.elses_task", args=[RESPONSE_URL, COMMENT], kwargs={"c": COMMENT})
    [headers] = published_headers(app)
    assert_nothing_secret(headers)
    assert headers["argsrepr"] == "(2 args, not shown)"
    assert headers["kwargsrepr"] == "(1 kwargs, not shown)"
