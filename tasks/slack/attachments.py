"""An invoice's files on its card: a line and a button each, and a picture's thumbnail
where PREVIEWS allows. Pure, like the card itself (`tasks/slack/card.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tasks.contracts import PreviewButton
from tasks.contracts.preview import MAX_FILE_NAME
from tasks.ekuaibao.models import Attachment
from tasks.shared.blocks import (
    MAX_BLOCKS,
    MAX_BUTTON,
    Block,
    clip,
    context,
    neutral,
    plain,
    plain_text,
    section,
)
from tasks.shared.card_texts import card_texts
from tasks.shared.texts import Texts
from tasks.summary import InvoiceSummary

#: Slack refuses a button whose URL (or an image whose image_url) is longer.
MAX_URL = 3000
#: An actions block holds 25 buttons.
MAX_BUTTONS = 25
#: Files a worker can render or read on a click (pictures already show their thumbnail).
PREVIEWABLE = frozenset({"pdf", "ofd", "xml"})


@dataclass(frozen=True)
class Previews:
    """Preview buttons (PREVIEWS=all): whose reply or card they are on, as for Refresh."""

    owner: str = ""
    on_card: bool = False


def preview_button(link: Attachment, index: int, texts: Texts, previews: Previews) -> Block:
    value = PreviewButton(
        invoice_id=link.invoice_id,
        file_name=link.file_name[:MAX_FILE_NAME],
        owner=previews.owner,
        on_card=previews.on_card,
    )
    label = card_texts(texts).preview_named.format(name=link.file_name)
    return {
        "type": "button",
        "action_id": f"preview_file_{index}",
        "text": plain_text(clip(plain(label), MAX_BUTTON)),
        "value": value.encode(),
    }


def previewable(link: Attachment, previews: Previews | None) -> bool:
    return previews is not None and link.kind in PREVIEWABLE


def open_button(link: Attachment, index: int, texts: Texts, named: bool) -> Block:
    kind = texts.kinds[link.kind]
    words = card_texts(texts)
    label = words.open_named.format(name=link.file_name) if named else None
    return {
        "type": "button",
        "action_id": f"open_attachment_{index}",
        "text": plain_text(clip(plain(label or texts.open_button.format(kind=kind)), MAX_BUTTON)),
        "url": link.url,
    }


def picture(link: Attachment) -> str | None:
    """The thumbnail Slack can show for this file: a picture's, within Block Kit's limit."""
    if link.kind != "image" or not link.thumb_url or len(link.thumb_url) > MAX_URL:
        return None
    return link.thumb_url


def picture_too_long(link: Attachment) -> bool:
    """A picture whose thumbnail link is too long while its own link is not (when both are,
    `link_too_long` already says so)."""
    return link.kind == "image" and len(link.thumb_url) > MAX_URL >= len(link.url)


def image_block(link: Attachment, url: str) -> Block:
    name = plain(link.file_name, 200) or "—"
    return {"type": "image", "image_url": url, "alt_text": name, "title": plain_text(name)}


def paperclip(link: Attachment, texts: Texts) -> str:
    return f":paperclip: {neutral(link.file_name, 200)} · {texts.kinds[link.kind]}"


def attachment_blocks(
    invoice: InvoiceSummary,
    texts: Texts,
    first: int,
    with_links: bool,
    pictures: bool,
    previews: Previews | None = None,
) -> list[Block]:
    """Each file's line with its button; with `pictures`, a picture's thumbnail under it,
    with `previews`, a Preview button under a PDF, OFD or XML file (neither in a copy
    without links: a shared copy carries no picture or preview)."""
    if not invoice.attachments:
        return [context(texts.no_attachment)]
    words, blocks = card_texts(texts), []
    for offset, link in enumerate(invoice.attachments[: MAX_BLOCKS // 4]):
        if not with_links:
            blocks.append(context(paperclip(link, texts)))
            continue
        if len(link.url) > MAX_URL:
            name = neutral(link.file_name, 200)
            blocks.append(
                context(words.link_too_long.format(name=name, kind=texts.kinds[link.kind]))
            )
        else:
            button = open_button(link, first + offset, texts, named=False)
            blocks.append({**section(paperclip(link, texts)), "accessory": button})
        if previewable(link, previews):
            assert previews is not None
            button = preview_button(link, first + offset, texts, previews)
            blocks.append({"type": "actions", "elements": [button]})
        if pictures and (url := picture(link)) is not None:
            blocks.append(image_block(link, url))
        elif pictures and picture_too_long(link):
            blocks.append(context(words.picture_too_long.format(name=neutral(link.file_name, 200))))
    hidden = len(invoice.attachments) - MAX_BLOCKS // 4
    if hidden > 0:
        blocks.append(context(words.more_attachments.format(count=hidden)))
    return blocks


@dataclass(frozen=True)
class CompactFiles:
    """An invoice's files in the compact layout: notes for the section's text, what sits
    beside it (the first picture's thumbnail, else the first button) and the other buttons."""

    notes: list[str]
    accessory: Block | None
    buttons: Block | None


def compact_files(
    invoice: InvoiceSummary,
    texts: Texts,
    first: int,
    with_links: bool,
    pictures: bool,
    previews: Previews | None = None,
) -> CompactFiles:
    words = card_texts(texts)
    links = [a for a in invoice.attachments if len(a.url) <= MAX_URL] if with_links else []
    notes: list[str] = []
    if not invoice.attachments:
        notes.append(texts.no_attachment)
    elif not with_links:
        notes.extend(paperclip(a, texts) for a in invoice.attachments)
    notes.extend(
        words.link_too_long.format(name=neutral(a.file_name, 200), kind=texts.kinds[a.kind])
        for a in invoice.attachments
        if with_links and len(a.url) > MAX_URL
    )
    shown = [(a, url) for a in links if (url := picture(a)) is not None] if pictures else []
    if pictures:
        notes.extend(
            words.picture_too_long.format(name=neutral(a.file_name, 200))
            for a in links
            if picture_too_long(a)
        )
    beside = 0 if shown else 1  # buttons the section itself holds
    if len(links) > MAX_BUTTONS + beside:
        notes.append(words.more_attachments.format(count=len(links) - MAX_BUTTONS - beside))
    accessory: Block | None = None
    if shown:
        image = image_block(*shown[0])
        accessory = {k: v for k, v in image.items() if k != "title"}  # an element has none
    elif links:
        accessory = open_button(links[0], first, texts, named=True)
    elements = [
        open_button(link, first + offset, texts, named=True)
        for offset, link in enumerate(links[beside : MAX_BUTTONS + beside], start=beside)
    ]
    elements += [
        preview_button(link, first + offset, texts, previews)
        for offset, link in enumerate(links)
        if previews is not None and previewable(link, previews)
    ][: MAX_BUTTONS - len(elements)]
    buttons = {"type": "actions", "elements": elements} if elements else None
    return CompactFiles(notes, accessory, buttons)


def without_pictures(message: dict[str, Any]) -> dict[str, Any] | None:
    """The message without its thumbnails, or None when it has none: Slack downloads each
    image_url when a message is posted, and one it cannot fetch fails the whole post, so
    the reply is sent again without them (every file keeps its button)."""
    blocks = message.get("blocks")
    if not isinstance(blocks, list):
        return None
    kept: list[Block] = []
    dropped = False
    for block in blocks:
        if block.get("type") == "image" and "image_url" in block:
            dropped = True
            continue
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and accessory.get("type") == "image":
            block = {k: v for k, v in block.items() if k != "accessory"}
            dropped = True
        kept.append(block)
    return {**message, "blocks": kept} if dropped else None
