"""The listeners called directly with a fake `ack`, as Bolt's own tests do: what they ack
and what they queue, without an App, a signature or a broker."""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import Mock

from bot.enqueue import EnqueueFailed
from bot.listeners import actions, commands, events, review, shortcuts
from bot.wiring import WIRING_KEY, Wiring
from tasks.contracts import ButtonValue, LookupRequest, Notice, ReviewAsk
from tasks.shared.language import LanguagePicker

INVOICE = "djg8LshfUkfM00:033002100311:23272058"


class Queue:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[LookupRequest | Notice] = []
        self.fail = fail

    def __call__(self, request: LookupRequest | Notice) -> None:
        if self.fail:
            raise EnqueueFailed("broker away")
        self.sent.append(request)


class Seen:
    def __init__(self) -> None:
        self.keys: set[str] = set()

    def first(self, key: str, ttl_s: float = 0) -> bool:
        new = key not in self.keys
        self.keys.add(key)
        return new


def context(queue: Queue) -> dict[str, Any]:
    wiring = Wiring(enqueue=queue, dedup=Seen(), language=LanguagePicker("en", None))
    return {WIRING_KEY: wiring}


def command(text: str) -> dict[str, Any]:
    return {
        "text": text,
        "user_id": "U1",
        "team_id": "T1",
        "channel_id": "C1",
        "response_url": "https://hooks.slack.test/r/1",
    }


def test_a_command_with_an_id_is_queued_then_acked() -> None:
    ack, queue = Mock(), Queue()
    commands.invoice_command(ack, command(INVOICE), context(queue))
    (request,) = queue.sent
    assert isinstance(request, LookupRequest) and request.ids == (INVOICE,)
    assert request.response_url == "https://hooks.slack.test/r/1" and request.language == "en"
    ack.assert_called_once_with(response_type="ephemeral", text=":mag: Looking up 1 invoice…")


def test_help_and_bad_input_are_acked_and_nothing_is_queued() -> None:
    for text in ("", "help", "a!b"):
        ack, queue = Mock(), Queue()
        commands.invoice_command(ack, command(text), context(queue))
        assert queue.sent == [] and ack.call_count == 1
        assert ack.call_args.kwargs["response_type"] == "ephemeral"
        assert ack.call_args.kwargs["blocks"]


def test_a_broker_that_is_away_is_said_in_the_ack() -> None:
    ack = Mock()
    commands.invoice_command(ack, command(INVOICE), context(Queue(fail=True)))
    assert "queue" in ack.call_args.kwargs["text"].lower()


def test_a_report_command_acks_with_the_report_code() -> None:
    ack, queue = Mock(), Queue()
    commands.invoice_command(ack, command("report B23001249"), context(queue))
    assert queue.sent[0].report == "B23001249"  # type: ignore[union-attr]
    assert "B23001249" in ack.call_args.kwargs["text"]


def click(value: str, user: str = "U1") -> tuple[dict[str, Any], dict[str, Any]]:
    body = {
        "user": {"id": user},
        "team": {"id": "T1"},
        "channel": {"id": "C1"},
        "container": {"message_ts": "1.2"},
        "response_url": "https://hooks.slack.test/r/2",
    }
    return body, {"action_id": "refresh_links", "value": value}


def test_a_refresh_click_reads_the_button_value_the_renderer_wrote() -> None:
    ack, queue = Mock(), Queue()
    value = ButtonValue(report="B23001249", page=2, part=1, owner="U1").encode()
    actions.refresh_links(ack, *click(value), context(queue))
    ack.assert_called_once_with()
    (request,) = queue.sent
    assert isinstance(request, LookupRequest)
    assert (request.report, request.page, request.part, request.owner_id) == (
        "B23001249",
        2,
        1,
        "U1",
    )
    assert request.replace_original is True and request.mode == "full"


def test_someone_elses_refresh_gets_a_notice_and_a_bad_value_nothing() -> None:
    ack, queue = Mock(), Queue()
    value = ButtonValue(ids=(INVOICE,), owner="U1").encode()
    actions.refresh_links(ack, *click(value, user="U2"), context(queue))
    assert isinstance(queue.sent[0], Notice) and queue.sent[0].text_key == "not_yours"
    for bad in ("{", json.dumps({"i": ["a b"]}), json.dumps({"r": "B1", "p": -1}), "[]"):
        queue = Queue()
        actions.refresh_links(Mock(), *click(bad), context(queue))
        assert queue.sent == []


def test_a_dm_is_answered_once_however_often_slack_delivers_it() -> None:
    queue = Queue()
    ctx = context(queue)
    event = {"channel_type": "im", "channel": "D1", "user": "U1", "text": f"hi {INVOICE}"}
    for _ in range(2):
        events.direct_message(event, {"team_id": "T1", "event_id": "Ev1"}, ctx)
    (request,) = queue.sent
    assert isinstance(request, LookupRequest) and request.reply_via == "channel"


def test_the_shortcut_finds_ids_in_attachments_and_acks_first() -> None:
    ack, queue = Mock(), Queue()
    body = {
        "user": {"id": "U1"},
        "team": {"id": "T1"},
        "channel": {"id": "C1"},
        "response_url": "https://hooks.slack.test/r/3",
        "message": {"text": "", "attachments": [{"fallback": f"Invoice {INVOICE}"}]},
    }
    shortcuts.look_up_invoices(ack, body, context(queue))
    ack.assert_called_once_with()
    assert queue.sent[0].ids == (INVOICE,)  # type: ignore[union-attr]


def test_a_mention_is_answered_in_its_thread_and_a_bad_one_dropped() -> None:
    queue = Queue()
    event = {"channel": "C1", "user": "U1", "ts": "5.6", "text": f"<@UBOT> {INVOICE}"}
    events.mention(event, {"team_id": "T1", "event_id": "Ev2"}, context(queue))
    (request,) = queue.sent
    assert isinstance(request, LookupRequest) and request.reply_via == "ephemeral"
    assert (request.thread_ts, request.reaction_ts, request.channel_id) == ("5.6", "5.6", "C1")
    for bad in (
        {**event, "ts": None},  # no message to thread under
        {**event, "channel": {"id": "C1"}},  # not a channel id
        {**event, "subtype": "message_changed"},
        {**event, "bot_id": "B1"},
        {k: v for k, v in event.items() if k != "user"},
    ):
        queue = Queue()
        events.mention(bad, {"team_id": "T1", "event_id": "Ev3"}, context(queue))
        assert queue.sent == []


def test_a_dm_without_a_channel_or_outside_a_dm_is_dropped() -> None:
    for event in (
        {"channel_type": "im", "user": "U1", "text": INVOICE},
        {"channel_type": "channel", "channel": "C1", "user": "U1", "text": INVOICE},
    ):
        queue = Queue()
        events.direct_message(event, {"team_id": "T1", "event_id": "Ev4"}, context(queue))
        assert queue.sent == []


def test_the_home_tab_is_queued_once_a_minute_and_other_tabs_not_at_all() -> None:
    queue = Queue()
    ctx = context(queue)
    for _ in range(2):
        review.home_opened({"user": "U1", "tab": "home"}, {"team_id": "T1"}, ctx)
    (ask,) = queue.sent
    assert isinstance(ask, ReviewAsk) and (ask.kind, ask.user_id, ask.team_id) == (
        "home",
        "U1",
        "T1",
    )
    for event in ({"user": "U2", "tab": "messages"}, {"tab": "home"}, {"user": None}):
        queue = Queue()
        review.home_opened(event, {"team_id": "T1"}, context(queue))
        assert queue.sent == []


def test_a_shortcut_on_a_malformed_payload_is_acked_and_dropped() -> None:
    for body in (
        {"user": "U1", "team": None, "message": ["not", "a", "message"]},
        {"user": {"id": "U1"}, "message": {"text": INVOICE}},  # no response_url
    ):
        ack, queue = Mock(), Queue()
        shortcuts.look_up_invoices(ack, body, context(queue))
        ack.assert_called_once_with()
        assert queue.sent == []
