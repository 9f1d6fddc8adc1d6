"""What a preview gives back, and the few ways it can be refused.

The reasons are a closed set because each one becomes a sentence for the person who asked;
the exception's text is the reason alone, never the URL (signed URLs are secrets) nor
anything read from the file (it is hostile).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

#: How the file is read: rendered (pdf, image) or only read for its fields (xml, ofd).
Kind = Literal["pdf", "xml", "ofd", "image"]
KINDS: frozenset[str] = frozenset(get_args(Kind))

Reason = Literal[
    "too_big",  # over a size cap: the download, the XML, a zip's inflated contents, a PNG
    "too_slow",  # the renderer ran out of CPU or wall-clock time
    "too_much_memory",  # the renderer hit its address-space limit
    "too_many_pixels",  # a picture past the decoder's cap, or a page too thin to read
    "unreadable",  # broken, truncated, encrypted, or not what it claims to be
    "unsupported",  # a kind we do not preview, or XML declaring a DTD or entities
    "redirected",  # the download was sent to another host (or round in circles)
    "download_failed",  # no 200 answer: an HTTP error, a refused or dropped connection
]
REASONS: frozenset[str] = frozenset(get_args(Reason))


class PreviewFailed(Exception):
    """The file cannot be previewed; `reason` says why, `str()` is the reason and safe to log."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason)
        self.reason: Reason = reason


@dataclass(frozen=True)
class Rendered:
    """PNGs of the first pages (none for XML and OFD, which are read, not rendered) and the
    invoice's key fields when the file carries them as data (`fields.FIELDS` names)."""

    pages: tuple[bytes, ...] = ()
    #: Pages in the document: more than `len(pages)` when only the first were rendered.
    page_count: int = 0
    fields: dict[str, str] = field(default_factory=dict)
    #: The first page image's size in pixels; 0 without pages.
    width: int = 0
    height: int = 0
