"""Page and picture sizes: readable on a laptop and a phone, never past the caps."""

from __future__ import annotations

import math

import pytest

from tasks.files.limits import LONG_SIDE_PX, MAX_PIXELS, fit
from tasks.files.results import PreviewFailed


def test_a4_comes_out_1600_px_long() -> None:
    size = fit(595, 842, enlarge=True)
    assert (size.width, size.height) == (1131, 1600)
    # PDFium rounds the page's size times the scale up: it must land on the same pixels
    assert (math.ceil(595 * size.scale), math.ceil(842 * size.scale)) == (1131, 1600)


def test_a_small_page_is_enlarged_but_a_small_picture_is_not() -> None:
    assert fit(200, 100, enlarge=True)[1:] == (LONG_SIDE_PX, 800)
    assert fit(600, 900, enlarge=False)[1:] == (600, 900)
    assert fit(6048, 8064, enlarge=False)[1:] == (1200, 1600)


def test_a_long_receipt_passes_and_a_sliver_is_refused() -> None:
    assert fit(80, 600, enlarge=True)[1:] == (214, 1600)
    for width, height in ((100_000, 842), (10, 1000)):
        with pytest.raises(PreviewFailed, match=r"^too_many_pixels$"):
            fit(width, height, enlarge=True)


@pytest.mark.parametrize("width", [0.0, -1.0, math.inf, math.nan])
def test_impossible_sizes_are_unreadable(width: float) -> None:
    with pytest.raises(PreviewFailed, match=r"^unreadable$"):
        fit(width, 842, enlarge=True)


@pytest.mark.parametrize(("width", "height"), [(1, 1), (595, 842), (842, 595), (1000, 7999)])
def test_never_past_the_caps(width: float, height: float) -> None:
    size = fit(width, height, enlarge=True)
    assert max(size.width, size.height) <= LONG_SIDE_PX
    assert size.width * size.height <= MAX_PIXELS
