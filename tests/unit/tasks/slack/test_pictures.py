"""A picture's thumbnail beside its invoice (PREVIEWS=images, the default), from the link
Ekuaibao just signed; never in a shared copy, never a link Block Kit would refuse."""

from __future__ import annotations

import json

import pytest

from sandbox.blockkit import validate_message
from tasks.ekuaibao.models import Attachment
from tasks.shared.texts import EN, ZH
from tasks.slack import render
from tasks.slack.attachments import without_pictures
from tasks.slack.card import compact_invoice_blocks, invoice_blocks
from tasks.summary import InvoiceSummary, LookupResult

SIGNED = "https://files.example/receipt.jpg?Expires=1710500135&Signature=s"


def attachment(name: str, url: str = SIGNED, thumb: str | None = None) -> Attachment:
    raw = {"id": "c:1:2", "url": url, "fileName": name, "thumbUrl": url if thumb is None else thumb}
    return Attachment.from_api(raw, 0.0)


def invoice(*files: Attachment) -> InvoiceSummary:
    return InvoiceSummary("c:1:2", (), files)


def images(blocks: list[dict]) -> list[dict]:
    found = [b for b in blocks if b["type"] == "image"]
    found += [b["accessory"] for b in blocks if (b.get("accessory") or {}).get("type") == "image"]
    return found


def test_the_thumbnail_is_read_for_pictures_only() -> None:
    assert attachment("a.jpg").thumb_url == SIGNED
    pdf = Attachment.from_api({"id": "c:1:2", "url": SIGNED, "fileName": "a.pdf", "thumbUrl": ""})
    assert pdf.thumb_url == ""
    assert attachment("a.png", thumb="javascript:alert(1)").thumb_url == ""
    assert attachment("a.png", thumb="https://x/a b").thumb_url == ""


def test_the_full_card_shows_the_picture_under_its_file() -> None:
    blocks = invoice_blocks(invoice(attachment("发票37.png")), EN, pictures=True)
    [image] = images(blocks)
    assert image["image_url"] == SIGNED and image["alt_text"] == "发票37.png"
    assert blocks[-1] is image and blocks[-2]["accessory"]["url"] == SIGNED  # its Open button
    assert validate_message({"blocks": blocks}) == []


def test_the_compact_card_puts_the_picture_beside_and_every_button_under() -> None:
    pdf = attachment("a.pdf", url=SIGNED.replace("jpg", "pdf"), thumb="")
    section, actions = compact_invoice_blocks(invoice(pdf, attachment("b.jpg")), ZH, pictures=True)
    assert section["accessory"]["type"] == "image"
    assert section["accessory"]["image_url"] == SIGNED and "title" not in section["accessory"]
    assert [e["text"]["text"] for e in actions["elements"]] == ["打开 a.pdf", "打开 b.jpg"]
    assert validate_message({"blocks": [section, actions]}) == []


def test_no_pictures_when_previews_are_off_for_files_that_are_not_pictures() -> None:
    files = invoice(attachment("a.jpg"), attachment("b.pdf", thumb=""))
    for blocks in (invoice_blocks(files, EN), compact_invoice_blocks(files, EN)):
        assert images(blocks) == []  # PREVIEWS=off
    only_pdf = invoice(attachment("b.pdf", thumb=""))
    assert images(invoice_blocks(only_pdf, EN, pictures=True)) == []


def test_a_shared_copy_never_carries_a_picture() -> None:
    files = invoice(attachment("a.jpg"))
    for draw in (invoice_blocks, compact_invoice_blocks):
        assert images(draw(files, EN, 0, False, pictures=True)) == []
    result = LookupResult(("c:1:2",), (files,), (), 0.0)
    share = render.Controls(owner="U1", mode="share", shared_by="U1", pictures=True)
    [message] = render.lookup_messages(result, EN, share)
    assert images(message["blocks"]) == [] and SIGNED not in json.dumps(message)
    mine = render.Controls(owner="U1", pictures=True)
    [message] = render.lookup_messages(result, EN, mine)
    assert len(images(message["blocks"])) == 1


@pytest.mark.parametrize("draw", [invoice_blocks, compact_invoice_blocks])
def test_a_thumbnail_link_too_long_for_block_kit_is_said_once(draw: object) -> None:
    long_thumb = SIGNED + "&x=" + "a" * 3000
    blocks = draw(invoice(attachment("a.jpg", thumb=long_thumb)), EN, pictures=True)  # type: ignore[operator]
    text = json.dumps(blocks)
    assert images(blocks) == [] and long_thumb not in text
    assert text.count("its picture's link is too long for Slack") == 1
    assert SIGNED in text  # the file's own link is still there
    assert validate_message({"blocks": blocks}) == []


def test_both_links_too_long_is_said_by_the_link_note_alone() -> None:
    long_url = SIGNED + "&x=" + "a" * 3000
    blocks = invoice_blocks(invoice(attachment("a.jpg", url=long_url)), EN, pictures=True)
    text = json.dumps(blocks)
    assert "its link is too long for Slack" in text and "picture's link" not in text
    assert images(blocks) == []


def test_without_pictures_keeps_every_button() -> None:
    pdf = attachment("a.pdf", url=SIGNED.replace("jpg", "pdf"), thumb="")
    files = invoice(pdf, attachment("b.jpg"))
    for blocks in (
        invoice_blocks(files, EN, pictures=True),
        compact_invoice_blocks(files, EN, pictures=True),
    ):
        bare = without_pictures({"text": "t", "blocks": blocks})
        assert bare is not None and images(bare["blocks"]) == []
        buttons = lambda bs: [  # noqa: E731
            e["url"]
            for b in bs
            for e in [b.get("accessory") or {}, *b.get("elements", [])]
            if e.get("type") == "button"
        ]
        assert buttons(bare["blocks"]) == buttons(blocks) and len(buttons(blocks)) == 2
        assert validate_message(bare) == []
    assert without_pictures({"text": "t", "blocks": invoice_blocks(files, EN)}) is None
    assert without_pictures({"text": "t"}) is None
