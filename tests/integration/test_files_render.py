"""Every sample file through the real confined child: the invoices render or read, each
hostile file is refused with its reason, by the child's limits rather than the test's
timeout, and the parent carries on as before."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from PIL import Image

from sandbox.make_files import NUMBER, SELLER, TOTAL, pixel_bomb_png
from tasks.files import MAX_DOWNLOAD_BYTES, PreviewFailed, Rendered, render, runner
from tasks.files.results import Kind

FILES = Path(__file__).resolve().parents[2] / "sandbox" / "data" / "files"
#: Loose on purpose: refusals must come from the limits (seconds), not the test's timeout.
BOUND_SECONDS = 30


def sample(name: str) -> bytes:
    return (FILES / name).read_bytes()


def timed(data: bytes, kind: Kind, **kwargs: int) -> tuple[Rendered | str, float]:
    start = time.monotonic()
    try:
        out: Rendered | str = render(data, kind, **kwargs)
    except PreviewFailed as failed:
        assert str(failed) == failed.reason
        out = failed.reason
    return out, time.monotonic() - start


def picture(page: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(page))
    assert image.format == "PNG"
    return image


def test_an_invoice_pdf_is_one_readable_png() -> None:
    got, _ = timed(sample("invoice.pdf"), "pdf")
    assert isinstance(got, Rendered)
    assert (len(got.pages), got.page_count, got.fields) == (1, 1, {})
    assert (got.width, got.height) == (1131, 1600) == picture(got.pages[0]).size
    assert 10_000 < len(got.pages[0]) < 1_000_000
    extremes = picture(got.pages[0]).convert("L").getextrema()
    assert extremes == (0, 255)  # black print on white, not a blank page


def test_only_the_first_pages_are_rendered_but_all_are_counted() -> None:
    one, _ = timed(sample("two-pages.pdf"), "pdf", max_pages=1)
    both, _ = timed(sample("two-pages.pdf"), "pdf")
    assert isinstance(one, Rendered) and isinstance(both, Rendered)
    assert (len(one.pages), one.page_count) == (1, 2)
    assert (len(both.pages), both.page_count) == (2, 2)
    assert one.pages[0] == both.pages[0] != both.pages[1]


def test_a_receipt_photo_is_re_encoded_as_png() -> None:
    got, _ = timed(sample("receipt.jpg"), "image")
    assert isinstance(got, Rendered)
    assert (len(got.pages), got.page_count, got.width, got.height) == (1, 1, 600, 900)
    assert picture(got.pages[0]).size == (600, 900)


def test_a_big_photo_is_scaled_down_and_turned_upright() -> None:
    out = io.BytesIO()
    Image.new("RGB", (4032, 3024), "white").save(out, "JPEG")
    got, _ = timed(out.getvalue(), "image")
    assert isinstance(got, Rendered) and (got.width, got.height) == (1600, 1200)
    exif = Image.Exif()
    exif[0x0112] = 6  # held upright, stored on its side
    out = io.BytesIO()
    Image.new("RGB", (4032, 3024), "white").save(out, "JPEG", exif=exif.tobytes())
    got, _ = timed(out.getvalue(), "image")
    assert isinstance(got, Rendered) and (got.width, got.height) == (1200, 1600)


@pytest.mark.parametrize(("name", "kind"), [("invoice.xml", "xml"), ("invoice.ofd", "ofd")])
def test_data_files_are_read_for_their_fields(name: str, kind: Kind) -> None:
    got, _ = timed(sample(name), kind)
    assert isinstance(got, Rendered)
    assert got.pages == () and (got.width, got.height) == (0, 0)
    assert got.fields == {"number": NUMBER, "seller": SELLER, "total": TOTAL}


@pytest.mark.parametrize(
    ("name", "kind", "reason"),
    [
        ("wide-page.pdf", "pdf", "too_many_pixels"),
        ("truncated.pdf", "pdf", "unreadable"),
        ("encrypted.pdf", "pdf", "unreadable"),
        ("cpu-bomb.pdf", "pdf", "too_slow"),
        ("pixel-bomb.png", "image", "too_many_pixels"),
        ("bomb.ofd", "ofd", "too_big"),
        ("xxe.xml", "xml", "unsupported"),
        ("billion-laughs.xml", "xml", "unsupported"),
        ("invoice.xml", "pdf", "unreadable"),  # not what it claims to be
        ("invoice.pdf", "image", "unreadable"),
        ("receipt.jpg", "ofd", "unreadable"),
    ],
)
def test_hostile_files_are_refused_and_the_parent_carries_on(
    name: str, kind: Kind, reason: str
) -> None:
    pid = os.getpid()
    got, seconds = timed(sample(name), kind)
    assert got == reason
    assert seconds < BOUND_SECONDS
    assert os.getpid() == pid
    after, _ = timed(sample("invoice.pdf"), "pdf")
    assert isinstance(after, Rendered) and len(after.pages) == 1


def test_pictures_past_the_pixel_cap_from_their_header_alone() -> None:
    assert timed(pixel_bomb_png(8000, 7000), "image")[0] == "too_many_pixels"  # 56 MP
    assert timed(pixel_bomb_png(20_000, 100), "image")[0] == "too_many_pixels"  # a sliver


def test_other_picture_formats_are_unsupported_and_garbage_unreadable() -> None:
    gif = io.BytesIO()
    Image.new("L", (10, 10)).save(gif, "GIF")
    assert timed(gif.getvalue(), "image")[0] == "unsupported"
    assert timed(b"\x00" * 100, "image")[0] == "unreadable"
    assert timed(b"", "pdf")[0] == "unreadable"


def test_a_file_over_the_cap_is_refused_before_any_child() -> None:
    big = bytes(50 * 2**20)
    assert len(big) > MAX_DOWNLOAD_BYTES
    got, seconds = timed(big, "pdf")
    assert got == "too_big" and seconds < 1


def test_an_unknown_kind_is_unsupported() -> None:
    assert timed(b"PK", "docx")[0] == "unsupported"  # type: ignore[arg-type]


def test_the_wall_clock_kills_a_child_that_runs_too_long(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before its CPU limit: the parent's own deadline, for a child that is blocked."""
    killed: list[int] = []
    kill = runner.kill_child

    def spy(pid: int) -> None:
        killed.append(pid)
        kill(pid)

    monkeypatch.setattr(runner, "WALL_SECONDS", 0.5)
    monkeypatch.setattr(runner, "kill_child", spy)
    got, seconds = timed(sample("cpu-bomb.pdf"), "pdf")
    assert got == "too_slow" and seconds < BOUND_SECONDS
    assert killed  # by the deadline, not by the CPU limit (4 s)
    assert seconds < 3


def test_a_child_flooding_its_pipe_is_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "MAX_REPLY_BYTES", 1000)  # the real page's answer is larger
    assert timed(sample("invoice.pdf"), "pdf")[0] == "unreadable"


def test_the_child_gets_no_secrets_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret")
    environment = runner.child_environment()
    assert "SLACK_BOT_TOKEN" not in environment
    assert set(environment) <= {*runner.CHILD_ENVIRONMENT, "PYTHONDONTWRITEBYTECODE"}
