"""OFD invoices (China's fixed-layout format, a zip of XML): read for their fields.

No maintained Python library renders OFD faithfully (its fonts, seals and signatures), and
a wrong picture of an invoice is worse than none, so an OFD is read, not rendered. Issuers
keep the fields in one of three places, all read here, best first:

* `Doc_0/Attachs/*.xml`: `original_invoice.xml` with the values themselves (InvoiceNo,
  Seller/SellerName, TaxInclusiveTotalAmount), or the invoice's own XML data file;
* `Doc_0/Tags/CustomTag.xml`: each field lists `ObjectRef` ids of the text objects on the
  page that print it (`Doc_0/Pages/Page_0/Content.xml`, `TextObject ID=… > TextCode`);
* `OFD.xml`: DocInfo's `CustomData Name="发票号码"` and the like.

The zip is judged by its directory before any entry is inflated; entries are read only
into memory (never extracted, so their names cannot point anywhere), each within the XML
cap. An entry that cannot be read is skipped: the other places may still have the fields.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterable

from tasks.files.fields import CUSTOM_DATA, clean, merge, pick, tagged
from tasks.files.limits import (
    MAX_OFD_CONTENTS,
    MAX_XML_BYTES,
    MAX_ZIP_BYTES,
    MAX_ZIP_ENTRIES,
    MAX_ZIP_RATIO,
    RATIO_FROM_BYTES,
)
from tasks.files.results import PreviewFailed
from tasks.files.safe_xml import collect

ATTACHMENT = re.compile(r"(^|/)Attachs/[^/]+\.xml$", re.IGNORECASE)
TAG_FILE = re.compile(r"(^|/)Tags/(?!CustomTags\.xml$)[^/]+\.xml$", re.IGNORECASE)
CONTENT = re.compile(r"(^|/)(Pages/Page_\d+|Tpls/Tpl_\d+)/Content\.xml$", re.IGNORECASE)
PAGE = re.compile(r"(^|/)Pages/Page_\d+/Content\.xml$", re.IGNORECASE)
#: Attachment and tag files read: an invoice has one or two of each.
MAX_DATA_FILES = 5
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError)


def check(entries: Iterable[zipfile.ZipInfo]) -> None:
    """Refuse a zip bomb ("too_big") from the directory alone: too many entries, too much
    inflated in all, or an entry inflating far more than XML ever does."""
    entries = list(entries)
    if len(entries) > MAX_ZIP_ENTRIES:
        raise PreviewFailed("too_big")
    if sum(entry.file_size for entry in entries) > MAX_ZIP_BYTES:
        raise PreviewFailed("too_big")
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > RATIO_FROM_BYTES and ratio > MAX_ZIP_RATIO:
            raise PreviewFailed("too_big")


def read_ofd(data: bytes) -> tuple[dict[str, str], int]:
    """The invoice's fields (empty when none is found) and the number of pages."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            check(archive.infolist())
            names = archive.namelist()
            found = merge(_attachments(archive, names), _tags(archive, names))
            fields = merge(found, _custom_data(archive, names))
            return fields, sum(1 for name in names if PAGE.search(name))
    except (*_ZIP_ERRORS, NotImplementedError, RuntimeError, ValueError):
        raise PreviewFailed("unreadable") from None


def _read(archive: zipfile.ZipFile, name: str) -> bytes | None:
    """An entry within the XML cap, or None: too big, encrypted, or compressed unusually."""
    entry = archive.getinfo(name)
    usual = entry.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
    if entry.file_size > MAX_XML_BYTES or entry.flag_bits & 0x1 or not usual:
        return None
    try:
        with archive.open(entry) as stream:
            data = stream.read(MAX_XML_BYTES + 1)  # the directory's size may be a lie
    except _ZIP_ERRORS:
        return None
    return data if len(data) <= MAX_XML_BYTES else None


def _xml_files(archive: zipfile.ZipFile, names: list[str], pattern: re.Pattern[str]) -> list[bytes]:
    chosen = [name for name in names if pattern.search(name)][:MAX_DATA_FILES]
    return [data for name in chosen if (data := _read(archive, name)) is not None]


def _attachments(archive: zipfile.ZipFile, names: list[str]) -> dict[str, str]:
    out: list[tuple[str, str, str]] = []
    for data in _xml_files(archive, names, ATTACHMENT):
        try:
            out.extend((f.key, f.parent, f.value) for f in tagged(data))
        except PreviewFailed:
            continue
    return pick(out)


def _tags(archive: zipfile.ZipFile, names: list[str]) -> dict[str, str]:
    """CustomTag files: a value in the tag itself, or in the text objects it points at."""
    found = []
    for data in _xml_files(archive, names, TAG_FILE):
        try:
            found.extend(tagged(data))
        except PreviewFailed:
            continue
    texts = _texts(archive, names, {ref for f in found for ref in f.refs})
    return pick(
        (f.key, f.parent, "".join(texts.get(ref, "") for ref in f.refs) if f.refs else f.value)
        for f in found
    )


def _texts(archive: zipfile.ZipFile, names: list[str], ids: set[str]) -> dict[str, str]:
    """The printed text of the page objects with those ids (ids are unique in a document,
    so which page a reference names does not matter)."""

    def wanted(local: str, attributes: dict[str, str]) -> str | None:
        object_id = attributes.get("ID", "")
        return object_id if local == "textobject" and object_id in ids else None

    texts: dict[str, str] = {}
    contents = [name for name in names if CONTENT.search(name)][:MAX_OFD_CONTENTS]
    for name in contents if ids else []:
        data = _read(archive, name)
        try:
            found = collect(data, wanted) if data is not None else []
        except PreviewFailed:
            continue
        for text_object in found:
            texts.setdefault(text_object.key, text_object.value)
    return texts


def _custom_data(archive: zipfile.ZipFile, names: list[str]) -> dict[str, str]:
    def wanted(local: str, attributes: dict[str, str]) -> str | None:
        return CUSTOM_DATA.get(attributes.get("Name", "")) if local == "customdata" else None

    data = _read(archive, "OFD.xml") if "OFD.xml" in names else None
    try:
        found = collect(data, wanted) if data is not None else []
    except PreviewFailed:
        return {}
    out: dict[str, str] = {}
    for custom in found:
        if (value := clean(custom.key, custom.value)) is not None:
            out.setdefault(custom.key, value)
    return out
