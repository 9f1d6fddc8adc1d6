"""`invoicebot demo`'s review scene: a report reaches an approver, then moves on.

Ekuaibao's outbound sender POSTs a 待审批 message to the bot; the review card appears in
the approver's DM; the report is approved on to a second approver, whose message makes the
first card say so (no buttons left) and brings the second approver their own card.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sandbox.ekuaibao import APPROVER_EMAIL, APPROVER_ID, REPORT_CODE, REPORT_ID, EkuaibaoStandIn
from sandbox.ekuaibao_approver import APPROVER2_EMAIL, APPROVER2_ID, approval_event
from sandbox.slack import SlackStandIn
from sandbox.terminal import to_text

APPROVER_SLACK, APPROVER2_SLACK = "U0APPROVER", "U0APPROVER2"


@dataclass(frozen=True)
class ReviewScene:
    ack_ms: float
    card_ms: float
    card: dict[str, Any]
    updated: dict[str, Any]
    second: dict[str, Any]


def _wait(check: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.01)
    raise TimeoutError("the review card did not arrive within 30 s")


def review_scene(ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, events_url: str) -> ReviewScene:
    slack.add_user(APPROVER_SLACK, APPROVER_EMAIL)
    slack.add_user(APPROVER2_SLACK, APPROVER2_EMAIL)
    started = time.perf_counter()
    delivery = ekuaibao.approver.send(
        events_url, approval_event(ekuaibao.world, "backlog.approving", REPORT_ID, APPROVER_ID)
    )
    if delivery.status != 204:
        raise RuntimeError(f"the bot answered Ekuaibao's message with HTTP {delivery.status}")
    card = _wait(lambda: next(iter(slack.messages_in("D0APPROVER")), None))
    card_ms = (time.perf_counter() - started) * 1000
    ekuaibao.approver.move_on(REPORT_ID, [APPROVER2_ID], stage="财务审批")
    ekuaibao.approver.send(
        events_url,
        approval_event(
            ekuaibao.world, "backlog.approving", REPORT_ID, APPROVER2_ID, node_id="FLOW:2:2"
        ),
    )
    second = _wait(lambda: next(iter(slack.messages_in("D0APPROVER2")), None))
    updated = _wait(
        lambda: (
            (m := slack.message("D0APPROVER", card["ts"])) and m.get("text") != card["text"] and m
        )
    )
    return ReviewScene(delivery.elapsed_ms, card_ms, card, updated, second)


def print_review_scene(scene: ReviewScene) -> None:
    print(
        f"Ekuaibao posts a 待审批 message for report {REPORT_CODE} to "
        f"/ekuaibao/events/<token>; the bot answers {scene.ack_ms:.0f} ms later (HTTP 204), "
        f"and {scene.card_ms:.0f} ms after the message this card is in the approver's DM:\n"
    )
    print(to_text(scene.card))
    print("\nThe report is approved on to 财务审批. The first card now says:\n")
    print(to_text(scene.updated))
    print("\n…and the next approver has their own card, headed:")
    print("  " + str(scene.second["blocks"][0]["text"]["text"]))
    print()
