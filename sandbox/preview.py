"""See a reply as Slack shows it: a Block Kit Builder link, or a local HTML page.

The Builder link carries the blocks in its fragment, so Slack itself renders them (it needs
a signed-in browser; nothing is sent anywhere until it is opened). The HTML page is a close
offline stand-in for documentation pictures: it renders the few block types and the mrkdwn
subset our replies use.
"""

from __future__ import annotations

import html
import json
import re
import time
import urllib.parse
from collections.abc import Iterable
from typing import Any

from sandbox.terminal import EMOJI

BUILDER = "https://app.slack.com/block-kit-builder/#"
#: Our own markup in mrkdwn: a link or a date. Everything else is text (Ekuaibao's arrives
#: with <, > and & escaped as entities, so it can never match these).
_MARKUP = re.compile(r"<(https?://[^|>]+)\|([^>]+)>|<!date\^(\d+)\^[^|>]*\|[^>]*>")
#: A zero-width space beside a marker breaks the span, as in Slack (our neutralised text).
_BOLD = re.compile(r"(?<![\w*\u200b])\*(?=[^\s\u200b])([^*\n]+?)(?<=[^\s\u200b])\*(?![\w*\u200b])")
_ITALIC = re.compile(r"(?<![\w_\u200b])_(?=[^\s\u200b])([^_\n]+?)(?<=[^\s\u200b])_(?![\w_\u200b])")
_CODE = re.compile(r"`([^`\n]+)`")


def builder_url(message: dict[str, Any]) -> str:
    """The message in Slack's Block Kit Builder (blocks only: attachments are not ours)."""
    payload = {"blocks": message.get("blocks") or []}
    return BUILDER + urllib.parse.quote(
        json.dumps(payload, ensure_ascii=False, separators=(",", ":")), safe=""
    )


def _mrkdwn(text: str) -> str:
    """Slack's mrkdwn, as far as our replies use it."""
    out, last = [], 0
    for match in _MARKUP.finditer(text):
        out.append(_plain(text[last : match.start()]))
        if match[1]:
            out.append(f'<a href="{html.escape(match[1])}">{_plain(match[2])}</a>')
        else:
            out.append(time.strftime("%b %d, %H:%M", time.localtime(int(match[3]))))
        last = match.end()
    out.append(_plain(text[last:]))
    return "".join(out).replace("\n", "<br>")


def _plain(text: str) -> str:
    """Text between our markup: Slack's entities decoded, then formatting as Slack does it."""
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    out = html.escape(text, quote=False)
    out = _CODE.sub(r"<code>\1</code>", out)
    out = _BOLD.sub(r"<b>\1</b>", out)
    out = _ITALIC.sub(r"<i>\1</i>", out)
    return _emoji(out)


def _text(obj: dict[str, Any]) -> str:
    raw = str(obj.get("text", ""))
    if obj.get("type") == "plain_text":
        shown = html.escape(raw)
        return shown if obj.get("emoji") is False else _emoji(shown)
    return _mrkdwn(raw)


def _emoji(text: str) -> str:
    """Emoji codes as Slack shows them; a neutralised one (`:\u200bname:`) stays text."""
    for code, char in EMOJI.items():
        text = text.replace(code, char)
    return text


def _button(element: dict[str, Any]) -> str:
    style = {"primary": " primary", "danger": " danger"}.get(element.get("style", ""), "")
    return f'<span class="button{style}">{_text(element["text"])}</span>'


def _block(block: dict[str, Any]) -> str:
    kind = block.get("type")
    if kind == "header":
        return f"<h3>{_text(block['text'])}</h3>"
    if kind == "divider":
        return "<hr>"
    if kind == "context":
        items = " ".join(f"<span>{_text(e)}</span>" for e in block.get("elements", []))
        return f'<div class="context">{items}</div>'
    if kind == "actions":
        return f'<div class="actions">{"".join(_button(e) for e in block["elements"])}</div>'
    if kind == "section":
        parts = [f"<div>{_text(block['text'])}</div>"] if "text" in block else []
        if "fields" in block:
            cells = "".join(f"<div>{_text(f)}</div>" for f in block["fields"])
            parts.append(f'<div class="fields">{cells}</div>')
        accessory = block.get("accessory")
        side = _button(accessory) if accessory and accessory.get("type") == "button" else ""
        return f'<div class="section"><div class="body">{"".join(parts)}</div>{side}</div>'
    return f"<pre>{html.escape(json.dumps(block, ensure_ascii=False))}</pre>"


_STYLE = """
body { font: 15px/1.46 -apple-system, "Segoe UI", "Noto Sans CJK SC", "PingFang SC", sans-serif;
       color: #1d1c1d; background: #fff; margin: 0; padding: 16px 20px; width: 760px; }
.msg { display: flex; gap: 8px; margin-bottom: 18px; }
.avatar { width: 36px; height: 36px; border-radius: 6px; background: #4a154b; color: #fff;
          font-weight: 700; display: flex; align-items: center; justify-content: center; }
.name { font-weight: 900; } .app { font-size: 10px; background: #e8e8e8; padding: 0 3px; }
.note { color: #616061; font-size: 12px; margin-left: 6px; }
h3 { font-size: 18px; margin: 8px 0 4px; }
hr { border: none; border-top: 1px solid #ddd; margin: 10px 0; }
.context { color: #616061; font-size: 13px; margin: 4px 0; }
.section { display: flex; justify-content: space-between; gap: 12px; margin: 4px 0; }
.fields { display: grid; grid-template-columns: 1fr 1fr; gap: 2px 16px; margin-top: 4px; }
.actions { display: flex; gap: 8px; flex-wrap: wrap; margin: 8px 0; }
.button { border: 1px solid #bbb; border-radius: 4px; padding: 2px 10px; font-weight: 700;
          font-size: 14px; white-space: nowrap; align-self: flex-start; }
.primary { background: #007a5a; color: #fff; border-color: #007a5a; }
.danger { color: #e01e5a; }
code { color: #e01e5a; background: #f6f6f6; border: 1px solid #ddd; border-radius: 3px;
       padding: 0 3px; font-size: 12px; }
a { color: #1264a3; text-decoration: none; }
"""


def to_html(messages: Iterable[dict[str, Any]], title: str = "invoice-bot") -> str:
    """One page with each message as Slack lays it out: blocks when there are any, else the
    text (the same choice Slack makes)."""
    rows = []
    for message in messages:
        blocks = message.get("blocks")
        body = (
            "".join(_block(b) for b in blocks)
            if blocks
            else f"<div>{_mrkdwn(str(message.get('text', '')))}</div>"
        )
        rows.append(
            '<div class="msg"><div class="avatar">🧾</div><div>'
            f'<span class="name">{html.escape(title)}</span> <span class="app">APP</span>'
            '<span class="note">Only visible to you</span>'
            f"{body}</div></div>"
        )
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><style>{_STYLE}</style></head>'
        f"<body>{''.join(rows)}</body></html>"
    )


def main(argv: list[str] | None = None) -> int:
    """`python -m sandbox.preview reply.json page.html`: a saved reply as a page (open it, or
    screenshot it for the docs with `chromium --headless --screenshot`)."""
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m sandbox.preview")
    parser.add_argument(
        "reply", type=Path, help="a JSON list of messages, e.g. the demo's reply.json"
    )
    parser.add_argument("page", type=Path)
    args = parser.parse_args(argv)
    messages = json.loads(args.reply.read_text(encoding="utf-8"))
    args.page.write_text(
        to_html(messages if isinstance(messages, list) else [messages]), encoding="utf-8"
    )
    print(builder_url((messages if isinstance(messages, list) else [messages])[0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
