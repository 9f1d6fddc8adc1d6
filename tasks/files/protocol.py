"""The child's one answer on stdout: a JSON object, PNGs in base64 (msgspec's bytes).

The parent trusts none of it: the answer is read up to MAX_REPLY_BYTES, decoded against
the schema (unknown keys refused), and each page must be a PNG whose own header gives a
size within the caps. Anything else is "unreadable", whatever the child meant by it.
"""

from __future__ import annotations

import re
import struct

import msgspec

from tasks.files.fields import FIELDS, MAX_SELLER_CHARS
from tasks.files.limits import LONG_SIDE_PX, MAX_PAGES, MAX_PIXELS, MAX_PNG_BYTES
from tasks.files.results import PreviewFailed, Reason, Rendered

#: All pages' PNGs in base64 and the rest: past it the child is not answering, it is
#: flooding the pipe, and is killed.
MAX_REPLY_BYTES = MAX_PAGES * (MAX_PNG_BYTES * 4 // 3 + 4) + 64 * 1024
_CLASS_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,79}")
_PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"


class Reply(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A refusal (`reason`) or what was read; `error` names an unexpected exception's class
    for the log (never its message, which may quote the file)."""

    reason: Reason | None = None
    pages: list[bytes] = []
    page_count: int = 0
    fields: dict[str, str] = {}
    error: str = ""


def encode(reply: Reply) -> bytes:
    return msgspec.json.encode(reply)


def png_size(page: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR, checked against the caps."""
    if not page.startswith(_PNG_HEADER) or len(page) < 24:
        raise PreviewFailed("unreadable")
    width, height = struct.unpack(">II", page[16:24])
    if not (0 < width <= LONG_SIDE_PX and 0 < height <= LONG_SIDE_PX):
        raise PreviewFailed("unreadable")
    if width * height > MAX_PIXELS:
        raise PreviewFailed("unreadable")
    return width, height


def decode(raw: bytes, max_pages: int) -> Reply:
    try:
        reply = msgspec.json.decode(raw, type=Reply)
    except msgspec.DecodeError:  # ValidationError included
        raise PreviewFailed("unreadable") from None
    if len(reply.pages) > max_pages or reply.page_count < len(reply.pages):
        raise PreviewFailed("unreadable")
    if reply.error and not _CLASS_NAME.fullmatch(reply.error):
        raise PreviewFailed("unreadable")
    if any(name not in FIELDS or len(v) > MAX_SELLER_CHARS for name, v in reply.fields.items()):
        raise PreviewFailed("unreadable")
    return reply


def rendered(reply: Reply) -> Rendered:
    """The child's answer as the caller's result, or its refusal raised."""
    if reply.reason is not None:
        raise PreviewFailed(reply.reason)
    sizes = [png_size(page) for page in reply.pages]
    width, height = sizes[0] if sizes else (0, 0)
    return Rendered(tuple(reply.pages), reply.page_count, dict(reply.fields), width, height)
