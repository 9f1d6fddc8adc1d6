"""A review card whose thumbnail Slack cannot download is posted (or updated) without it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from tasks.review.cards.messages import post_card, update_card
from tasks.review.deps import ReviewDeps
from tasks.state.review_cards import Card

PICTURE = {"type": "image", "image_url": "https://files.example/a.jpg", "alt_text": "a.jpg"}
CARD = {
    "text": "card",
    "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "accessory": PICTURE},
        PICTURE,
    ],
}


class Slack:
    """Refuses any message with an image, as Slack does when it cannot fetch one."""

    def __init__(self, refuse: str = "invalid_blocks") -> None:
        self.sent: list[list[dict[str, Any]]] = []
        self.refuse = refuse

    def _answer(self, blocks: list[dict[str, Any]]) -> dict[str, str]:
        self.sent.append(blocks)
        if any(b["type"] == "image" or "accessory" in b for b in blocks):
            response = SlackResponse(
                client=None,
                http_verb="POST",
                api_url="",
                req_args={},
                data={"ok": False, "error": self.refuse},
                headers={},
                status_code=200,
            )
            raise SlackApiError("refused", response)
        return {"channel": "D1", "ts": "1.2"}

    def chat_postMessage(self, **kw: Any) -> dict[str, str]:
        return self._answer(kw["blocks"])

    def chat_update(self, **kw: Any) -> dict[str, str]:
        return self._answer(kw["blocks"])


def deps(slack: Slack) -> ReviewDeps:
    return cast(ReviewDeps, SimpleNamespace(slack=slack))


def test_a_card_is_posted_and_updated_without_the_pictures_slack_refused() -> None:
    slack = Slack()
    assert post_card(deps(slack), "D1", CARD) == ("D1", "1.2")
    assert len(slack.sent) == 2 and slack.sent[1] == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    ]
    assert update_card(deps(slack), Card("D1", "1.2", "U1", "B1", "t"), CARD)
    assert len(slack.sent) == 4


def test_other_refusals_are_not_retried() -> None:
    slack = Slack(refuse="channel_not_found")
    assert post_card(deps(slack), "D1", CARD) is None
    assert len(slack.sent) == 1
