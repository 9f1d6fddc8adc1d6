"""The decide modals: the loading view the bot opens at once (inside Slack's 3 seconds,
before the worker has read anything), and the frame the worker fills in."""

from __future__ import annotations

from typing import Any

from tasks.contracts import DecisionRef
from tasks.shared.blocks import Block, section
from tasks.shared.decide_texts import DecideTexts, decide_texts_for


def modal(
    what: str, texts: DecideTexts, blocks: list[Block], metadata: str, submit: bool
) -> dict[str, Any]:
    titles = {"approve": texts.title_approve, "reject": texts.title_reject, "ask": texts.title_ask}
    submits = {
        "approve": texts.submit_approve,
        "reject": texts.submit_reject,
        "ask": texts.submit_ask,
    }
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": f"decide_{what}",
        "title": {"type": "plain_text", "text": titles[what]},
        "close": {"type": "plain_text", "text": texts.cancel},
        "private_metadata": metadata,
        "blocks": blocks,
    }
    if submit:
        view["submit"] = {"type": "plain_text", "text": submits[what]}
    return view


def loading_view(what: str, flow_id: str, node_id: str, language: str | None) -> dict[str, Any]:
    texts = decide_texts_for(language)
    metadata = DecisionRef(flow_id, node_id).encode()
    return modal(what, texts, [section(texts.loading)], metadata, False)
