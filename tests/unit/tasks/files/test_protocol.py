"""The child's answer is trusted for nothing: anything off the schema is "unreadable"."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from tasks.files.protocol import Reply, decode, encode, png_size, rendered
from tasks.files.results import PreviewFailed, Rendered


def a_png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height), 255).save(out, "PNG")
    return out.getvalue()


def claimed_png(width: int, height: int) -> bytes:
    body = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + body))
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + body + crc


def unreadable(raw: bytes, max_pages: int = 3) -> None:
    with pytest.raises(PreviewFailed, match=r"^unreadable$"):
        rendered(decode(raw, max_pages))


def test_pages_and_fields_round_trip() -> None:
    page = a_png(113, 160)
    reply = Reply(pages=[page], page_count=4, fields={"total": "171.00"})
    assert rendered(decode(encode(reply), 1)) == Rendered((page,), 4, {"total": "171.00"}, 113, 160)


def test_a_refusal_is_raised_with_its_reason() -> None:
    with pytest.raises(PreviewFailed, match=r"^too_slow$"):
        rendered(decode(encode(Reply(reason="too_slow")), 3))


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"garbage",
        b"[]",
        b'{"reason": "because"}',  # not one of ours
        b'{"surprise": 1}',
        b'{"pages": ["not base64!"]}',
        b'{"fields": {"password": "x"}}',
        b'{"error": "Evil\\nlog line"}',
    ],
)
def test_garbage_is_unreadable(raw: bytes) -> None:
    unreadable(raw)


def test_too_many_pages_or_pages_that_are_no_png() -> None:
    unreadable(encode(Reply(pages=[a_png(10, 10)] * 2, page_count=2)), max_pages=1)
    unreadable(encode(Reply(pages=[a_png(10, 10)], page_count=0)))
    unreadable(encode(Reply(pages=[b"GIF89a..."], page_count=1)))


def test_a_png_header_past_the_caps_is_refused() -> None:
    assert png_size(claimed_png(1131, 1600)) == (1131, 1600)
    for width, height in ((1601, 10), (0, 10), (100_000, 100_000)):
        with pytest.raises(PreviewFailed, match=r"^unreadable$"):
            png_size(claimed_png(width, height))
