"""Event and shortcut payloads read once into typed requests: what is kept, what is skipped."""

import pytest

from bot import payloads
from bot.payloads import DirectMessage, HomeOpened, Mention, MessageShortcut, Skip

BODY = {"team_id": "T1", "event_id": "Ev1"}


def test_a_dm_is_read_with_its_text_and_a_missing_text_is_empty() -> None:
    event = {"channel_type": "im", "channel": "D1", "user": "U1", "text": "hi"}
    assert payloads.direct_message(event, BODY) == DirectMessage("T1", "Ev1", "D1", "U1", "hi")
    no_text = payloads.direct_message({**event, "text": None}, BODY)
    assert isinstance(no_text, DirectMessage) and no_text.text == ""


@pytest.mark.parametrize(
    ("event", "malformed"),
    [
        ({"channel_type": "channel", "channel": "C1", "user": "U1"}, False),
        ({"channel_type": "im", "channel": "D1", "user": "U1", "subtype": "bot_message"}, False),
        ({"channel_type": "im", "channel": "D1", "user": "U1", "bot_id": "B1"}, False),
        ({"channel_type": "im", "channel": "D1"}, False),
        ({"channel_type": "im", "user": "U1"}, True),
        ({"channel_type": "im", "channel": ["D1"], "user": "U1"}, True),
    ],
)
def test_a_dm_that_is_not_a_persons_is_skipped(event: dict, malformed: bool) -> None:
    skip = payloads.direct_message(event, BODY)
    assert isinstance(skip, Skip) and skip.malformed is malformed


def test_a_mention_threads_under_its_thread_or_itself() -> None:
    event = {"channel": "C1", "user": "U1", "ts": "1.2", "text": "x"}
    assert payloads.mention(event, BODY) == Mention("T1", "Ev1", "C1", "U1", "x", "1.2", "1.2")
    threaded = payloads.mention({**event, "thread_ts": "0.9"}, BODY)
    assert isinstance(threaded, Mention) and threaded.thread_ts == "0.9"
    assert payloads.mention({**event, "ts": ""}, BODY) == Skip(
        "a mention without a channel or ts", malformed=True
    )


def test_home_opened_only_for_the_home_tab_of_a_user() -> None:
    assert payloads.home_opened({"user": "U1", "tab": "home"}, {"team_id": "T1"}) == HomeOpened(
        "T1", "U1"
    )
    assert isinstance(payloads.home_opened({"user": "U1", "tab": "messages"}, {}), Skip)
    assert isinstance(payloads.home_opened({"tab": "home"}, {}), Skip)


def test_a_message_shortcut_joins_every_text_once_and_tolerates_odd_shapes() -> None:
    body = {
        "user": {"id": "U1"},
        "team": {"id": "T1"},
        "channel": {"id": "C1"},
        "response_url": "https://hooks.slack.test/r/3",
        "message": {
            "text": "a",
            "attachments": [{"fallback": "b", "pretext": "a"}],
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "c"}}],
        },
    }
    assert payloads.message_shortcut(body) == MessageShortcut(
        "T1", "C1", "U1", "https://hooks.slack.test/r/3", "a\nb\nc"
    )
    odd = payloads.message_shortcut({**body, "team": None, "channel": "C1", "message": 3})
    assert odd == MessageShortcut("", "", "U1", "https://hooks.slack.test/r/3", "")
    for bad in ({**body, "user": "U1"}, {**body, "response_url": None}):
        skip = payloads.message_shortcut(bad)
        assert isinstance(skip, Skip) and skip.malformed
