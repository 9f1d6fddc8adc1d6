"""PDF pages and pictures as PNGs, sized by `limits.fit`. Runs in the confined child only.

PDFium (Chrome's PDF engine) renders a page without its forms or scripts; Pillow decodes
only PNG and JPEG, and refuses a picture past MAX_IMAGE_PIXELS from its header, before
any pixel is decoded. A JPEG is decoded straight at (about) the preview's size.
"""

from __future__ import annotations

import io
import warnings

import pypdfium2 as pdfium  # type: ignore[import-untyped]  # no stubs, no py.typed
from PIL import Image, ImageOps, UnidentifiedImageError

from tasks.files.limits import MAX_IMAGE_PIXELS, MAX_PNG_BYTES, fit
from tasks.files.results import PreviewFailed

#: Pictures people attach that we do not decode, told apart from garbage by their magic:
#: HEIC/AVIF (an iPhone's photos), GIF, WebP, TIFF, BMP.
_OTHER_PICTURES = (b"GIF8", b"II*\x00", b"MM\x00*", b"BM")
_MODES = frozenset({"1", "L", "LA", "RGB", "RGBA"})


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=6)
    if out.tell() > MAX_PNG_BYTES:
        raise PreviewFailed("too_big")
    return out.getvalue()


def render_pdf(data: bytes, max_pages: int) -> tuple[list[bytes], int]:
    """PNGs of the first `max_pages` pages, and the document's page count."""
    try:
        document = pdfium.PdfDocument(data)  # encrypted, broken, truncated: refused here
    except pdfium.PdfiumError:
        raise PreviewFailed("unreadable") from None
    try:
        count = len(document)
        if count < 1:
            raise PreviewFailed("unreadable")
        return [_page(document, index) for index in range(min(count, max_pages))], count
    except pdfium.PdfiumError:
        raise PreviewFailed("unreadable") from None
    finally:
        document.close()


def _page(document: pdfium.PdfDocument, index: int) -> bytes:
    page = document[index]
    try:
        width, height = page.get_size()
        size = fit(width, height, enlarge=True)
        bitmap = page.render(scale=size.scale, fill_color=(255, 255, 255, 255))
        return png(bitmap.to_pil())
    finally:
        page.close()


def _sniff(data: bytes) -> None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff":
        return
    other = data.startswith(_OTHER_PICTURES) or data[4:8] == b"ftyp" or data[8:12] == b"WEBP"
    raise PreviewFailed("unsupported" if other else "unreadable")


def render_image(data: bytes) -> bytes:
    """A PNG or JPEG as a PNG of the preview's size, upright as the camera held it."""
    _sniff(data)
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS  # over it a warning, made an error below
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=("PNG", "JPEG")) as image:
                return png(_scaled(image))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PreviewFailed("too_many_pixels") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            raise PreviewFailed("unreadable") from None


def _scaled(image: Image.Image) -> Image.Image:
    """Scaled first, turned upright and converted after: the full-size picture (up to
    MAX_IMAGE_PIXELS × 4 bytes) is never copied."""
    size = fit(*image.size, enlarge=False)
    image.draft("RGB", (size.width, size.height))  # JPEG: decode at 1/2, 1/4 or 1/8
    if image.mode == "1":  # these would be resized by nearest neighbour: converted first
        image = image.convert("L")
    elif image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    size = fit(*image.size, enlarge=False)
    small = image.resize((size.width, size.height), Image.Resampling.LANCZOS, reducing_gap=3.0)
    upright = ImageOps.exif_transpose(small)  # the camera's orientation, kept in `info`
    return upright if upright.mode in _MODES else upright.convert("RGB")
