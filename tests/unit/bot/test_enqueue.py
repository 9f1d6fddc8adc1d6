"""The bot's half of the response_url check: nothing naming another host reaches the queue."""

from __future__ import annotations

from typing import Any

import pytest

from bot.enqueue import EnqueueFailed, celery_enqueue
from tasks.contracts import LookupRequest, Notice, ReviewAsk

SLACK_URL = "https://hooks.slack.com/commands/T1/2/secret"


class FakeCelery:
    def __init__(self) -> None:
        self.sent: list[tuple[str, list[dict[str, Any]]]] = []

    def send_task(self, name: str, args: list[dict[str, Any]], **options: Any) -> None:
        self.sent.append((name, args))


@pytest.mark.parametrize(
    "message",
    [
        LookupRequest(ids=("ID01a",), user_id="U1", response_url="https://attacker.example/x"),
        Notice(text_key="dm_hint", user_id="U1", response_url="http://127.0.0.1:9/internal"),
        ReviewAsk(kind="queue", user_id="U1", response_url="https://hooks.slack.com.evil/x"),
    ],
)
def test_a_response_url_off_slacks_hosts_is_not_queued(
    message: Any, caplog: pytest.LogCaptureFixture
) -> None:
    celery = FakeCelery()
    with pytest.raises(EnqueueFailed):
        celery_enqueue(celery)(message)  # type: ignore[arg-type]
    assert celery.sent == []
    assert "SLACK_RESPONSE_URL_PREFIXES" in caplog.text
    assert message.response_url not in caplog.text


def test_slacks_own_and_configured_hosts_are_queued() -> None:
    celery = FakeCelery()
    slack_only = celery_enqueue(celery)  # type: ignore[arg-type]
    slack_only(LookupRequest(ids=("ID01a",), user_id="U1", response_url=SLACK_URL))
    standin = "http://127.0.0.1:8123/commands/T1/2/k"
    enqueue = celery_enqueue(celery, response_url_prefixes=("http://127.0.0.1:8123/",))  # type: ignore[arg-type]
    enqueue(ReviewAsk(kind="queue", user_id="U1", response_url=standin))
    enqueue(ReviewAsk(kind="home", user_id="U1"))  # no response_url: the DM
    assert [args[0]["response_url"] for _, args in celery.sent] == [SLACK_URL, standin, ""]
