"""`invoicebot demo`'s last scene: the approver approves from the review card.

Everything goes through signed requests, as Slack sends them: the click on Approve, the
modal the bot fills once its guard passed, and Confirm. The card changes only once the
stand-in Ekuaibao has queued, processed and logged the decision.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from sandbox.signing import block_action, interaction, view_submission_payload
from sandbox.slack import SlackStandIn
from sandbox.terminal import to_text


@dataclass(frozen=True)
class ApprovalScene:
    before: dict[str, Any]
    modal: dict[str, Any]
    after: dict[str, Any]
    approved_ms: float


def _wait(check: Any, what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise TimeoutError(f"{what} did not come within {timeout:.0f} s")


def _approve_button(message: dict[str, Any]) -> dict[str, Any] | None:
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == "decide_approve":
                return dict(element)
    return None


def approval_scene(
    slack: SlackStandIn, url: str, secret: str, user: str, channel: str, card: dict[str, Any]
) -> ApprovalScene:
    before = slack.message(channel, card["ts"]) or card
    button = _approve_button(before)
    if button is None:
        raise RuntimeError("the review card has no Approve button")
    views = set(slack.views)
    body, headers = block_action(
        secret,
        "decide_approve",
        button["value"],
        slack.new_response_url(),
        user=user,
        channel=channel,
        message_ts=card["ts"],
        trigger_id=slack.new_trigger(),
    )
    httpx.post(url, content=body, headers=headers, timeout=10).raise_for_status()
    view_id = _wait(lambda: next(iter(set(slack.views) - views), None), "the Approve modal")
    modal = _wait(
        lambda: (v := slack.view(view_id)) and "Checking" not in json.dumps(v) and v,
        "the filled-in modal",
    )
    started = time.perf_counter()
    body, headers = interaction(secret, view_submission_payload(modal, {}, user=user))
    httpx.post(url, content=body, headers=headers, timeout=10).raise_for_status()
    after = _wait(
        lambda: (m := slack.message(channel, card["ts"])) and "Approved" in json.dumps(m) and m,
        "the approval",
        timeout=60,
    )
    return ApprovalScene(before, modal, after, (time.perf_counter() - started) * 1000)


def print_approval_scene(scene: ApprovalScene) -> None:
    print("Deciding in Slack is on (APPROVALS_IN_SLACK=true). The next approver's card:\n")
    lines = [line for line in to_text(scene.before).splitlines() if line.strip()]
    print("\n".join([*lines[:2], "  …", *(line for line in lines if "[ Approve ]" in line)]))
    print("\nThey press Approve. The bot re-reads the report and who they are, then asks:\n")
    print(to_text(scene.modal))
    print(
        f"\nThey press Confirm. {scene.approved_ms:.0f} ms later, once Ekuaibao has logged "
        "the approval, the card says:\n"
    )
    print(to_text(scene.after))
    print()
