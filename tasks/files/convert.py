"""In the child: the file, by kind, to the one reply the parent reads.

Each kind imports only its own reader, so an XML file never loads PDFium or Pillow.
Any failure becomes a reason: the file is hostile, so an exception the readers did not
expect is still the file's doing ("unreadable"), its class named for the parent's log.
"""

from __future__ import annotations

from tasks.files.protocol import Reply
from tasks.files.results import PreviewFailed


def _read(kind: str, data: bytes, max_pages: int) -> Reply:
    if kind == "pdf":
        from tasks.files.pages import render_pdf

        pages, count = render_pdf(data, max_pages)
        return Reply(pages=pages, page_count=count)
    if kind == "image":
        from tasks.files.pages import render_image

        return Reply(pages=[render_image(data)], page_count=1)
    if kind == "xml":
        from tasks.files.fields import from_xml

        return Reply(fields=from_xml(data))
    if kind == "ofd":
        from tasks.files.ofd import read_ofd

        fields, count = read_ofd(data)
        return Reply(fields=fields, page_count=count)
    raise PreviewFailed("unsupported")


def convert(kind: str, data: bytes, max_pages: int) -> Reply:
    try:
        return _read(kind, data, max_pages)
    except PreviewFailed as failed:
        return Reply(reason=failed.reason)
    except MemoryError:
        return Reply(reason="too_much_memory")
    except Exception as exc:  # the file's doing, whatever it was (module docstring)
        return Reply(reason="unreadable", error=type(exc).__name__)
