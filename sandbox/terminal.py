"""Show a Slack message in a terminal roughly as a person sees it in Slack."""

from __future__ import annotations

import re
import time
from typing import Any

EMOJI = {
    ":receipt:": "🧾",
    ":paperclip:": "📎",
    ":link:": "🔗",
    ":warning:": "⚠️",
    ":mag:": "🔍",
    ":hourglass:": "⌛",
    ":hourglass_flowing_sand:": "⏳",
    ":no_entry:": "⛔",
    ":white_check_mark:": "✅",
    ":x:": "❌",
    ":eyes:": "👀",
    ":scissors:": "✂️",
}
_DATE = re.compile(r"<!date\^(\d+)\^[^|>]*\|[^>]*>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")


def _date(match: re.Match[str]) -> str:
    return time.strftime("%b %d, %H:%M (your time)", time.localtime(int(match.group(1))))


def mrkdwn(text: str) -> str:
    text = _DATE.sub(_date, text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    for code, char in EMOJI.items():
        text = text.replace(code, char)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _short(url: str, limit: int = 96) -> str:
    return url if len(url) <= limit else url[: limit - 1] + "…"


def to_text(message: dict[str, Any], width: int = 78) -> str:
    blocks = message.get("blocks")
    if not blocks:
        return mrkdwn(str(message.get("text", "")))
    out: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            out.append("")
            out.append(mrkdwn(block["text"]["text"]))
        elif kind == "divider":
            out.append("─" * width)
        elif kind == "context":
            out.append("  " + "  ".join(mrkdwn(e.get("text", "")) for e in block["elements"]))
        elif kind == "section":
            if "text" in block:
                out.append(mrkdwn(block["text"]["text"]))
            if "fields" in block:
                out.append(
                    "   ".join(mrkdwn(f["text"]).replace("\n", ": ") for f in block["fields"])
                )
            accessory = block.get("accessory")
            if accessory and accessory.get("type") == "button":
                label = accessory["text"]["text"]
                target = accessory.get("url")
                out.append(f"   [ {label} ]" + (f" → {_short(target)}" if target else ""))
        elif kind == "actions":
            out.append("   " + "  ".join(f"[ {e['text']['text']} ]" for e in block["elements"]))
    return "\n".join(out)
