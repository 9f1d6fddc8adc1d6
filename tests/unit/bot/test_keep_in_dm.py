""" "Keep in my DMs" (issue 12 #16): the button, the click, the DM, the lasting copy."""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import Mock

import httpx
import pytest

from bot.listeners import actions
from tasks.contracts import ButtonValue, LookupRequest, Notice
from tasks.lookup.service import handle_lookup
from tasks.shared.texts import EN, ZH
from tasks.slack.render import Controls, lookup_messages
from tasks.slack.replies import Replier
from tasks.summary import InvoiceSummary, LookupResult
from tests.unit.bot.test_listeners import Queue, context
from tests.unit.tasks.lookup.test_service import FakeClient, FakeReplier, deps, request
from tests.unit.tasks.slack.test_reply import FakeWeb

INVOICE = "djg8LshfUkfM00:033002100311:23272058"
RESULT = LookupResult((INVOICE,), (InvoiceSummary(INVOICE, (), ()),), (), 0.0)


def action_ids(messages: list[dict[str, Any]]) -> list[str]:
    return [
        e["action_id"]
        for m in messages
        for b in m["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def test_the_button_is_offered_only_where_the_reply_would_vanish() -> None:
    kept = lookup_messages(RESULT, EN, Controls(owner="U1", keep=True))
    assert action_ids(kept) == ["refresh_links", "share_in_channel", "keep_in_dm"]
    [button] = [e for b in kept[0]["blocks"] if b["type"] == "actions" for e in b["elements"]][2:]
    assert ButtonValue.decode(button["value"]) == ButtonValue(ids=(INVOICE,), owner="U1")
    assert "保存到私信" in json.dumps(
        lookup_messages(RESULT, ZH, Controls("U1", keep=True)), ensure_ascii=False
    )
    assert "keep_in_dm" not in action_ids(lookup_messages(RESULT, EN, Controls(owner="U1")))


@pytest.mark.parametrize(
    ("fields", "offered"),
    [
        ({}, True),  # the private reply to /invoice, through the response_url
        ({"reply_via": "dm", "user_id": "U1"}, False),  # the kept copy itself
        ({"kept": True}, False),  # a refresh of the kept copy
        ({"reply_via": "channel", "channel_id": "D1"}, False),  # a DM question, answered there
        ({"mode": "share"}, False),
    ],
)
def test_the_service_offers_it_on_ephemeral_full_replies(fields: dict, offered: bool) -> None:
    replier = FakeReplier()
    handle_lookup(request(**fields), deps(FakeClient(), replier))
    [(messages, _)] = replier.sent
    assert ("keep_in_dm" in action_ids(messages)) is offered


def keep_click(value: str, user: str = "U1") -> tuple[dict[str, Any], dict[str, Any]]:
    body = {
        "user": {"id": user},
        "team": {"id": "T1"},
        "channel": {"id": "C1"},
        "container": {"message_ts": "1.2", "is_ephemeral": True},
        "response_url": "https://hooks.slack.test/r/2",
    }
    return body, {"action_id": "keep_in_dm", "value": value}


def test_a_click_asks_for_the_same_reply_in_the_owners_dm() -> None:
    ack, queue = Mock(), Queue()
    value = ButtonValue(report="B23001249", page=1, part=0, owner="U1").encode()
    actions.keep_in_dm(ack, *keep_click(value), context(queue))
    ack.assert_called_once_with()
    [sent] = queue.sent
    assert isinstance(sent, LookupRequest)
    assert (sent.reply_via, sent.user_id, sent.channel_id, sent.kept) == ("dm", "U1", "C1", True)
    assert (sent.report, sent.page, sent.part, sent.owner_id, sent.mode) == (
        "B23001249",
        1,
        0,
        "U1",
        "full",
    )


def test_only_the_owner_may_keep_it() -> None:
    ack, queue = Mock(), Queue()
    value = ButtonValue(ids=(INVOICE,), owner="U1").encode()
    actions.keep_in_dm(ack, *keep_click(value, user="U2"), context(queue))
    [sent] = queue.sent
    assert isinstance(sent, Notice) and sent.text_key == "not_yours" and sent.user_id == "U2"


def test_a_refresh_of_a_lasting_message_stays_lasting() -> None:
    queue = Queue()
    body, action = keep_click(ButtonValue(ids=(INVOICE,), owner="U1").encode())
    body["container"]["is_ephemeral"] = False
    actions.refresh_links(Mock(), body, {**action, "action_id": "refresh_links"}, context(queue))
    [sent] = queue.sent
    assert isinstance(sent, LookupRequest) and sent.kept and sent.reply_via == "response_url"


def test_the_replier_opens_the_dm_and_posts_there() -> None:
    web = FakeWeb()
    http = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    target = LookupRequest(ids=(INVOICE,), reply_via="dm", user_id="U1", channel_id="C1")
    Replier(http, web).deliver(target, [{"text": "hi", "blocks": []}])  # type: ignore[arg-type]
    assert [m for m, _ in web.calls] == ["conversations_open", "chat_postMessage"]
    assert web.calls[0][1]["users"] == "U1" and web.calls[1][1]["channel"] == "D1"


def test_a_dm_reply_needs_the_person() -> None:
    with pytest.raises(ValueError, match="DM reply needs user_id"):
        LookupRequest(ids=(INVOICE,), reply_via="dm")
