"""Every number that bounds a preview, each with its reason, and the child's own limits.

The file comes from whoever submitted the expense, so each cap is set just past what a
real invoice needs: a real file never meets one, a hostile one meets one early and
cheaply. The renderer runs in a child process that limits itself (`confine`) before it
reads a byte of the file, so a file that gets past a cap costs at most that child.
"""

from __future__ import annotations

import math
import os
import resource
from typing import NamedTuple

from tasks.files.results import PreviewFailed

MB = 2**20

# --- the download --------------------------------------------------------------------

#: An invoice PDF is ~100 KB, a phone photo 2–8 MB: past 20 MB it is not an invoice, and
#: it is what the worker holds in memory (and pipes to the child) per preview at most.
MAX_DOWNLOAD_BYTES = 20 * MB
#: Same-host redirects followed: a storage gateway's own hop or two, never a loop.
MAX_REDIRECTS = 3
#: The whole body: 20 MB at a slow 1 MB/s takes 20 s; a server dripping it byte by byte
#: (each read within the client's timeout) would otherwise hold the worker for ever.
DOWNLOAD_SECONDS = 60

# --- pages and pictures --------------------------------------------------------------

#: Pages rendered by default and at most: an invoice is one page, the rest its item list.
MAX_PAGES = 3
#: The long side of a rendered page, px: A4 comes out 1131 × 1600, the 9-point print of an
#: invoice readable on a laptop and, zoomed, on a phone; about 100–300 KB of PNG.
LONG_SIDE_PX = 1600
#: Pixels per page whatever its shape: 4 MP is 16 MB of RGBA while PNG-encoded.
MAX_PIXELS = 4_000_000
#: A page (or picture) longer than 8 times its width, or wider, shrinks to an unreadable
#: sliver at LONG_SIDE_PX: refused as "too_many_pixels" rather than sent. A till receipt
#: is ~1:4; a 100,000-point-wide page is 1:119.
MAX_ASPECT = 8.0
#: Pixels Pillow decodes at all: a 48 MP phone photo (8064 × 6048, 146 MB of RGB) passes,
#: a PNG header claiming 100,000 × 100,000 does not ("too_many_pixels", nothing decoded).
MAX_IMAGE_PIXELS = 50_000_000
#: One page's PNG: a real page is under 1 MB; noise at 4 MP is ~12 MB and useless to show.
MAX_PNG_BYTES = 8 * MB

# --- data files: XML and OFD ---------------------------------------------------------

#: A fully digital invoice's XML is 5–30 KB; an OFD's page or tag file a few KB.
MAX_XML_BYTES = 2 * MB
#: Element nesting: invoices nest 4–6 deep; bounded so no pathological file walks deeper.
MAX_XML_DEPTH = 64
#: An OFD invoice holds 15–40 entries (pages, fonts, seal, signature, tags).
MAX_ZIP_ENTRIES = 1000
#: The zip's declared uncompressed total: embedded fonts make real ones 1–5 MB.
MAX_ZIP_BYTES = 100 * MB
#: Inflated / compressed size of any entry over RATIO_FROM_BYTES: XML deflates 5–20×,
#: a bomb's zeros 1000× (deflate) to a million times (bzip2).
MAX_ZIP_RATIO = 100
#: Smaller entries may compress better harmlessly: MAX_ZIP_ENTRIES of them stay small.
RATIO_FROM_BYTES = 1 * MB
#: Page and template contents read for the text the tags point at: invoices have one page.
MAX_OFD_CONTENTS = 10

# --- the child process ---------------------------------------------------------------

#: CPU seconds: start-up and imports take ~0.2 s, a 3-page render ~0.1 s; a file still
#: computing after 4 s (a shading's per-pixel program) is killed by SIGXCPU.
CPU_SECONDS = 4
#: Wall-clock seconds before the parent kills the child: a child that blocks, or starves
#: on a busy host, burns no CPU; well above CPU_SECONDS so a loaded host still finishes.
WALL_SECONDS = 15
#: Address space: rendering an invoice PDF peaks at ~40 MB resident, a 49 MP PNG (the
#: biggest picture decoded) at ~270 MB; a bomb that gets past the caps fails here.
MEMORY_BYTES = 768 * MB
#: Open files: stdin, stdout, stderr and the few the imports still open; no more.
OPEN_FILES = 16


#: The child runs at the lowest priority: a render takes the CPU the lookups leave.
NICENESS = 19


def confine() -> None:
    """The child's limits, soft and hard, so the file's code cannot raise them back; and a
    lower priority than the worker's.

    No files written (FSIZE 0; Python ignores SIGXFSZ, so a write fails with EFBIG), no
    core dump of the file's memory, a second of CPU after SIGXCPU before the SIGKILL.
    """
    os.nice(NICENESS)
    for limit, soft, hard in (
        (resource.RLIMIT_CPU, CPU_SECONDS, CPU_SECONDS + 1),
        (resource.RLIMIT_AS, MEMORY_BYTES, MEMORY_BYTES),
        (resource.RLIMIT_FSIZE, 0, 0),
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_NOFILE, OPEN_FILES, OPEN_FILES),
    ):
        resource.setrlimit(limit, (soft, hard))


class Fit(NamedTuple):
    scale: float
    width: int
    height: int


def fit(width: float, height: float, *, enlarge: bool) -> Fit:
    """The scale that brings a page (points) or picture (pixels) to LONG_SIDE_PX, within
    MAX_PIXELS; pictures are never enlarged (`enlarge=False`), vector pages are."""
    if not (math.isfinite(width) and math.isfinite(height)) or width <= 0 or height <= 0:
        raise PreviewFailed("unreadable")
    if max(width, height) / min(width, height) > MAX_ASPECT:
        raise PreviewFailed("too_many_pixels")
    scale = min(LONG_SIDE_PX / max(width, height), math.sqrt(MAX_PIXELS / (width * height)))
    if not enlarge:
        scale = min(scale, 1.0)
    scale *= 1 - 1e-9  # a hair under the bound: sizes round up (as PDFium's do) onto it
    return Fit(scale, max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale)))
