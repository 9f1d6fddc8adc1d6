"""Previews of invoice files: downloaded within caps, rendered in a confined child.

The file comes from whoever submitted the expense, so it is hostile until proven
otherwise: `download` caps its size and keeps to its host, `render` turns a PDF's first
pages or a picture into PNGs, and reads an XML or OFD invoice's key fields, in a child
process that limits its own CPU, memory and files before it reads a byte. Every refusal
is a `PreviewFailed` with one of a few reasons; the numbers are in `limits`.
"""

from __future__ import annotations

from tasks.files.fetch import download
from tasks.files.fields import FIELDS, NUMBER, SELLER, TOTAL
from tasks.files.limits import (
    CPU_SECONDS,
    LONG_SIDE_PX,
    MAX_DOWNLOAD_BYTES,
    MAX_PAGES,
    MAX_PIXELS,
    MEMORY_BYTES,
    WALL_SECONDS,
)
from tasks.files.results import REASONS, Kind, PreviewFailed, Reason, Rendered
from tasks.files.runner import render

__all__ = [
    "CPU_SECONDS",
    "FIELDS",
    "LONG_SIDE_PX",
    "MAX_DOWNLOAD_BYTES",
    "MAX_PAGES",
    "MAX_PIXELS",
    "MEMORY_BYTES",
    "NUMBER",
    "REASONS",
    "SELLER",
    "TOTAL",
    "WALL_SECONDS",
    "Kind",
    "PreviewFailed",
    "Reason",
    "Rendered",
    "download",
    "render",
]
