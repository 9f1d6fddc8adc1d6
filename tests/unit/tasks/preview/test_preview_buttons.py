"""Preview buttons (PREVIEWS=all): on PDF, OFD and XML files, carrying only ids, never in
a shared copy; and the click's value read back like any input."""

from __future__ import annotations

import json

import pytest

from sandbox.blockkit import validate_message
from tasks.contracts import PreviewButton
from tasks.contracts.preview import MAX_FILE_NAME
from tasks.ekuaibao.models import Attachment
from tasks.shared.texts import EN, ZH
from tasks.slack import render
from tasks.slack.attachments import Previews
from tasks.slack.card import compact_invoice_blocks, invoice_blocks
from tasks.summary import InvoiceSummary, LookupResult

URL = "https://files.example/f?Expires=1710500135&Signature=s"


def link(name: str) -> Attachment:
    return Attachment.from_api({"id": "c:1:2", "url": URL, "fileName": name, "thumbUrl": ""}, 0)


FILES = InvoiceSummary(
    "c:1:2", (), (link("发票.pdf"), link("数据.xml"), link("票.ofd"), link("a.zip"))
)


def previews_of(blocks: list[dict]) -> list[dict]:
    elements = [e for b in blocks for e in b.get("elements", []) if isinstance(e, dict)]
    return [e for e in elements if e.get("action_id", "").startswith("preview_file_")]


@pytest.mark.parametrize("draw", [invoice_blocks, compact_invoice_blocks])
def test_each_renderable_file_gets_a_preview_button(draw: object) -> None:
    blocks = draw(FILES, ZH, previews=Previews(owner="U1"))  # type: ignore[operator]
    buttons = previews_of(blocks)
    assert [b["text"]["text"] for b in buttons] == ["预览 发票.pdf", "预览 数据.xml", "预览 票.ofd"]
    assert len({b["action_id"] for b in buttons}) == 3
    value = PreviewButton.decode(buttons[0]["value"])
    assert value == PreviewButton(invoice_id="c:1:2", file_name="发票.pdf", owner="U1")
    assert URL not in json.dumps(buttons)  # the value carries ids, never the signed link
    assert validate_message({"blocks": blocks}) == []


def test_no_preview_button_when_previews_are_not_all_or_in_a_shared_copy() -> None:
    assert previews_of(invoice_blocks(FILES, EN)) == []
    result = LookupResult(("c:1:2",), (FILES,), (), 0.0)
    share = render.Controls(owner="U1", mode="share", shared_by="U1", previews=True)
    assert all(previews_of(m["blocks"]) == [] for m in render.lookup_messages(result, EN, share))
    mine = render.Controls(owner="U1", previews=True)
    [message] = render.lookup_messages(result, EN, mine)
    assert len(previews_of(message["blocks"])) == 3


def test_a_card_button_says_it_is_on_a_card_and_long_names_are_clipped() -> None:
    long = InvoiceSummary("c:1:2", (), (link("x" * 400 + ".pdf"),))
    [button] = previews_of(compact_invoice_blocks(long, EN, previews=Previews(on_card=True)))
    value = PreviewButton.decode(button["value"])
    assert value is not None and value.on_card and len(value.file_name) == MAX_FILE_NAME


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "{}",
        '{"i": "c:1:2"}',
        '{"i": "c:1:2", "n": ""}',
        '{"i": "bad id!", "n": "a.pdf"}',
        '{"i": "c:1:2", "n": "a.pdf", "c": "yes"}',
        json.dumps({"i": "c:1:2", "n": "x" * (MAX_FILE_NAME + 1)}),
        "x" * 3000,
    ],
)
def test_values_that_are_not_ours_are_refused(raw: object) -> None:
    assert PreviewButton.decode(raw) is None
