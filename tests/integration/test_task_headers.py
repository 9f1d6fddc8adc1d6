"""What the broker keeps of a task besides its body: headers with ids only, retries included.

`celery inspect`, Flower and the broker's own tools show a message's headers; Celery writes
up to 1,024 characters of the arguments there (`argsrepr`) unless told otherwise, and a
retry is rebuilt from the request. Each test makes a task retry against the real worker and
reads the retried message's headers straight from the broker's storage while it waits
(embedded, Redis), and what Flower is told of it: the worker's task events (Redis, RabbitMQ,
whose held messages no other client can read).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from sandbox.ekuaibao import APPROVER_EMAIL, APPROVER_ID, EkuaibaoStandIn
from sandbox.ekuaibao_approver import approval_event
from sandbox.slack import SlackStandIn
from tasks.contracts import DECIDE_TASK, LOOKUP_TASK, REVIEW_EVENT_TASK
from tests.integration.conftest import BROKERS, broker_for
from tests.integration.harness import RunningBot, broker_kind, start_bot
from tests.integration.test_decide import (
    APPROVER_DM,
    APPROVER_SLACK,
    card_for,
    confirm,
    locate,
    new_report,
    open_modal,
    text_input,
)
from tests.integration.test_review import TOKEN, send

pytestmark = pytest.mark.timeout(180)
MEAL = "0aM9AbvdhI0400:011001900111:07517347"


@pytest.fixture(scope="module", params=BROKERS)
def bot(
    request: pytest.FixtureRequest,
    ekuaibao: EkuaibaoStandIn,
    slack: SlackStandIn,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningBot]:
    slack.add_user(APPROVER_SLACK, APPROVER_EMAIL)
    running = start_bot(
        ekuaibao,
        slack,
        tmp_path_factory.mktemp(f"headers-{request.param}"),
        broker=broker_for(request.param),
        EKUAIBAO_RETRY_BASE_S="3",  # a retried lookup waits ~3 s in the broker
        EKUAIBAO_RETRY_WINDOW_S="120",
        EKUAIBAO_EVENTS_TOKEN=TOKEN,
        APPROVALS_IN_SLACK="true",
        APPROVALS_INTERVAL_S="8",  # a second decision waits for the tenant's slot
        BOT_LANGUAGE="en",
    )
    monitor = Monitor(running.broker_url) if request.param != "embedded" else None
    running.monitor = monitor  # type: ignore[attr-defined]
    yield running
    if monitor:
        monitor.stop()
    running.stop()


class Monitor:
    """What Flower sees: it turns the workers' events on and receives them from the broker."""

    def __init__(self, broker_url: str) -> None:
        self.app = Celery("monitor", broker=broker_url, set_as_current=False)
        self.events: list[dict[str, Any]] = []
        self._receiver: Any = None
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self.app.control.enable_events(reply=True, timeout=1):
            assert time.monotonic() < deadline, "no worker answered enable_events"

    def _receive(self) -> None:
        with self.app.connection_for_read() as connection:
            self._receiver = self.app.events.Receiver(
                connection, handlers={"*": self.events.append}
            )
            self._receiver.capture(limit=None, timeout=None, wakeup=False)

    def retried(self, task: str) -> list[dict[str, Any]]:
        """`task-received` of a retry: `args` and `kwargs` are the message's reprs."""
        events = list(self.events)
        task_ids = {e["uuid"] for e in events if e.get("name") == task}
        return [
            e
            for e in events
            if e.get("type") == "task-received"
            and e.get("uuid") in task_ids
            and e.get("retries", 0) >= 1
        ]

    def stop(self) -> None:
        if self._receiver is not None:
            self._receiver.should_stop = True
        self._thread.join(timeout=5)


def stored_messages(broker_url: str) -> list[dict[str, Any]]:
    """Every task message the broker holds now (ready or held by a worker), as stored."""
    kind = broker_kind(broker_url)
    if kind == "embedded":
        path = Path(urllib.parse.unquote(urllib.parse.urlsplit(broker_url).path))
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return [json.loads(row[0]) for row in db.execute("SELECT payload FROM messages")]
    if kind == "redis":
        return _redis_messages(broker_url)
    return []  # RabbitMQ keeps a message a worker holds out of reach of other clients


def _redis_messages(broker_url: str) -> list[dict[str, Any]]:
    """Queued messages are lists of kombu's JSON; those a worker holds are in a hash of
    `[message, exchange, routing_key]`."""
    import redis

    client = redis.Redis.from_url(broker_url)
    found: list[dict[str, Any]] = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        values = client.lrange(key, 0, -1) if kind == b"list" else []
        values += client.hvals(key) if kind == b"hash" else []
        for raw in values:
            try:
                value = json.loads(raw)
            except ValueError:
                continue
            message = value[0] if isinstance(value, list) and value else value
            if isinstance(message, dict) and "headers" in message:
                found.append(message)
    return found


def retried_headers(bot: RunningBot, task: str, timeout: float = 60) -> list[dict[str, Any]]:
    """The headers of `task`'s retried messages, polled until one is in the broker, and
    the task events (`args` and `kwargs` are the reprs) monitoring got of the same task."""
    monitor: Monitor | None = bot.monitor  # type: ignore[attr-defined]
    stored: list[dict[str, Any]] = []
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        headers = [m["headers"] for m in stored_messages(bot.broker_url)]
        stored += [h for h in headers if h.get("task") == task and h.get("retries", 0) >= 1]
        seen = monitor.retried(task) if monitor else []
        in_storage = bool(stored) or broker_kind(bot.broker_url) == "rabbitmq"
        if in_storage and (seen or not monitor):
            return stored + seen
        time.sleep(0.05)
    raise AssertionError(f"no retried {task} seen within {timeout} s:\n{bot.log()[-3000:]}")


def shown(headers: dict[str, Any]) -> str:
    """A message's `argsrepr`, or what a task event carries of it (`args`)."""
    return str(headers.get("argsrepr", headers.get("args")))


def assert_not_in(headers: list[dict[str, Any]], *secrets: str) -> None:
    text = json.dumps(headers, ensure_ascii=False)
    leaked = [secret for secret in secrets if secret in text]
    assert leaked == [], text[:2000]


def test_a_retried_lookup_shows_no_response_url(bot: RunningBot, ekuaibao: EkuaibaoStandIn) -> None:
    ekuaibao.fail_fraction(1.0)  # every call fails: the lookup retries, again and again
    command = bot.command(MEAL)
    secret_part = urllib.parse.urlsplit(command.response_url).path.rsplit("/", 1)[-1]
    headers = retried_headers(bot, LOOKUP_TASK)
    ekuaibao.reset_faults()
    assert_not_in(headers, secret_part, "hooks", "response_url", "http")
    assert all("ids=1" in shown(h) for h in headers), headers
    bot.reply(command, n=2, timeout=60)  # "retrying", then the answer: the retry is whole


def test_a_decision_waiting_for_its_slot_shows_no_comment(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    comments = [f"PRIVATE-REMARK-{n}-私密" for n in range(2)]
    for comment in comments:  # the second waits for the tenant's slot: Wait, then retry
        flow_id, _ = new_report(ekuaibao, [APPROVER_ID])
        card = locate(slack, card_for(bot, ekuaibao, slack, flow_id, APPROVER_ID), APPROVER_DM)
        view = open_modal(bot, slack, card, "decide_approve", APPROVER_SLACK)
        answer = confirm(bot, view, APPROVER_SLACK, text_input("comment", comment))
        assert answer.status_code == 200
    headers = retried_headers(bot, DECIDE_TASK)
    assert_not_in(headers, *comments, "PRIVATE-REMARK", "私密")
    assert all("(decide step=decide what=approve" in shown(h) for h in headers), headers


def test_a_retried_ekuaibao_event_shows_none_of_its_payload(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn
) -> None:
    flow_id, _ = new_report(ekuaibao, [APPROVER_ID])
    body = approval_event(ekuaibao.world, "backlog.approving", flow_id, APPROVER_ID)
    ekuaibao.fail_fraction(1.0)  # the worker cannot read the report: the event retries
    send(bot, ekuaibao, body)
    headers = retried_headers(bot, REVIEW_EVENT_TASK)
    ekuaibao.reset_faults()
    values = [v for v in _strings(body) if len(v) >= 6]
    assert flow_id in values
    assert_not_in(headers, *values)
    assert all(shown(h) == "(review_event)" for h in headers), headers


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
