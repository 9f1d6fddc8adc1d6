"""Short messages: the acks the bot sends within Slack's 3 seconds, and one-line replies.

Imports only texts and blocks, so the Slack process can render its acks without loading
the worker's insides.
"""

from __future__ import annotations

from collections.abc import Sequence

from tasks.contracts import MAX_IDS
from tasks.shared.blocks import Message, clip, escape, section
from tasks.shared.texts import Texts


def simple(text: str) -> Message:
    """A one-section message whose fallback text is the same words."""
    return {"text": text, "blocks": [section(text)]}


def usage(texts: Texts) -> Message:
    return simple(texts.usage.format(limit=MAX_IDS))


def looking_up(count: int, texts: Texts) -> Message:
    text = texts.looking_up_one if count == 1 else texts.looking_up_many.format(count=count)
    return {"text": text}


def too_many(count: int, limit: int, texts: Texts) -> Message:
    return simple(texts.too_many.format(count=count, limit=limit))


def malformed(tokens: Sequence[str], texts: Texts) -> Message:
    shown = ", ".join(f"`{escape(clip(t, 60)).replace('`', 'ˋ')}`" for t in tokens[:5])
    if len(tokens) > 5:
        shown += f" (+{len(tokens) - 5})"
    plural = len(tokens) > 1
    return simple(
        texts.malformed.format(
            tokens=shown, verb="do" if plural else "does", them="them" if plural else "it"
        )
    )


def looking_up_report(report: str, texts: Texts) -> Message:
    return {"text": ":mag: " + texts.report_title.format(code=escape(report)) + "…"}
