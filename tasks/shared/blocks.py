"""Block Kit building blocks and mrkdwn escaping, shared by every Slack renderer.

Everything that came from Ekuaibao or a user is escaped with `escape` before it is shown;
every block is clipped to Slack's limits (3000 chars a section, 150 a header, 75 a button).
"""

from __future__ import annotations

import time
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

Block = dict[str, Any]
Message = dict[str, Any]

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_BUTTON = 75
#: A response_url takes 5 posts; leave room for a progress note before the result.
MAX_MESSAGES = 4
#: Cap on one line item's name, so one absurd name cannot eat a whole section.
MAX_NAME = 300
#: Amounts are shown to the cent, as on the invoice itself.
CENT = Decimal("0.01")
DASH = "—"
#: Enough digits for any amount Ekuaibao could send; the default context (28) overflows.
_WIDE = Context(prec=120)


# -- text helpers ------------------------------------------------------------------------


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: exactly `&`, `<`, `>`, and `&` first."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def amount(value: Decimal | None) -> str:
    """Money as on the invoice: two decimals (half up), thousands separated, a dash when
    unknown, never `-0.00`."""
    if value is None:
        return DASH
    cents = value.quantize(CENT, rounding=ROUND_HALF_UP, context=_WIDE)
    if cents.is_zero():
        cents = abs(cents)
    return format(cents, ",f")


def unit_price(value: Decimal | None) -> str:
    """A unit price keeps every digit Ekuaibao gave (343.362831858407), at least two."""
    if value is None:
        return DASH
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return format(value.normalize(_WIDE), ",f")
    return amount(value)


def money(value: Decimal | None) -> str:
    return "¥" + amount(value) if value is not None else DASH


def quantity(value: Decimal | None) -> str:
    """`1.00000000` reads as 1, `2.50000000` as 2.5."""
    if value is None:
        return DASH
    return format(value.normalize(_WIDE), "f")


def slack_date(epoch_s: int) -> str:
    """Shown in the reader's own time zone; the fallback is UTC for clients that can't."""
    fallback = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch_s))
    return f"<!date^{epoch_s}^{{date_short_pretty}} {{time}}|{fallback}>"


def or_dash(text: str | None) -> str:
    return neutral(text) if text else DASH


#: Around each character that would start mrkdwn formatting in Ekuaibao's text (`*鞋*`
#: bold, `_x_`, `~x~`, `:emoji:`): a zero-width space on both sides, so it can neither open
#: nor close a span however Slack classes the space. The text reads the same. A backtick
#: would still open a code span, so it becomes the look-alike ˋ (U+02CB).
_ZWSP = "\u200b"
FORMATTING = str.maketrans({c: f"{_ZWSP}{c}{_ZWSP}" for c in "*_~:"} | {"`": "ˋ"})
#: Line breaks and other control characters from Ekuaibao would reshape the message.
CONTROL = {c: " " for c in range(32)} | {0x7F: None, 0x2028: " ", 0x2029: " "}


def plain(text: str, limit: int = MAX_SECTION) -> str:
    """Ekuaibao's text for a `plain_text` object (shown literally, no entities): one line,
    clipped."""
    return clip(text.translate(CONTROL), limit)


def neutral(text: str, limit: int | None = None) -> str:
    """Ekuaibao's text inside mrkdwn: escaped, on one line, formatting neutralised, and
    clipped (before escaping, so an entity is never cut in half)."""
    flat = text.translate(CONTROL)
    if limit is not None:
        flat = clip(flat, limit)
    return escape(flat).translate(FORMATTING)


def plain_text(text: str) -> Block:
    """A plain_text object whose emoji codes stay literal (ours are Unicode characters)."""
    return {"type": "plain_text", "text": text, "emoji": False}


# -- blocks ------------------------------------------------------------------------------


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION)}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, MAX_SECTION)}]}


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, MAX_HEADER)}}


DIVIDER: Block = {"type": "divider"}


def button(action_id: str, label: str, value: str, style: str | None = None) -> Block:
    element: Block = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": clip(label, MAX_BUTTON)},
        "value": value,
    }
    if style:
        element["style"] = style
    return element
