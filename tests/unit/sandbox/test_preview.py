"""The demo's ways to see a reply as Slack shows it."""

from __future__ import annotations

import json
import urllib.parse

from sandbox.preview import BUILDER, builder_url, to_html

MESSAGE = {
    "text": "Invoice lookup: 1 found",
    "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "Report B1 · 差旅 & 餐饮"}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "*Seller:* &lt;script&gt;alert(1)&lt;/script&gt; · `ID01` "
                "<https://files.invalid/a.pdf?Signature=x|发票.pdf> :paperclip:",
            },
        },
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "<!date^1700000000^{time}|x>"}],
        },
        {
            "type": "actions",
            "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Refresh"}, "value": "v"}
            ],
        },
    ],
}


def test_the_builder_link_carries_exactly_the_blocks() -> None:
    url = builder_url(MESSAGE)
    assert url.startswith(BUILDER)
    payload = json.loads(urllib.parse.unquote(url[len(BUILDER) :]))
    assert payload == {"blocks": MESSAGE["blocks"]}


def test_the_page_shows_ekuaibao_text_literally_and_our_markup_as_slack_does() -> None:
    page = to_html([MESSAGE])
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>Seller:</b>" in page and "<code>ID01</code>" in page
    assert '<a href="https://files.invalid/a.pdf?Signature=x">发票.pdf</a>' in page
    assert "📎" in page and "差旅 &amp; 餐饮" in page and ">Refresh<" in page
    assert "<!date" not in page
