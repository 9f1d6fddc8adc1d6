"""Typed views of the few Ekuaibao fields we show, parsed straight from the raw JSON.

Only the used keys are read: each line item carries ~5-7 KB of `entity` schema we skip.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")
_LINE = "E_system_发票明细_"
#: Ekuaibao signs attachment links for one hour.
LINK_LIFETIME_S = 3600

AttachmentKind = Literal["image", "pdf", "ofd", "xml", "file"]
_KINDS: dict[str, AttachmentKind] = {
    "png": "image",
    "jpg": "image",
    "jpeg": "image",
    "gif": "image",
    "bmp": "image",
    "webp": "image",
    "pdf": "pdf",
    "ofd": "ofd",
    "xml": "xml",
}


class MalformedPayload(ValueError):
    """A field did not have the documented shape."""


#: Far beyond any real invoice, yet well inside the exact arithmetic of totals (120 digits):
#: "1e200" would break rounding and sums, so it is unreadable, not a number.
MAX_MONEY = Decimal("1e50")


def parse_money(value: Any) -> Decimal | None:
    """Ekuaibao's money object -> Decimal; `standard` may be a string, a number, or absent.

    Floats go through `str()` first so 0.1 stays 0.1, never 0.1000000000000000055…
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise MalformedPayload("money is not an object")
    standard = value.get("standard")
    if standard is None or standard == "":
        return None
    if isinstance(standard, bool) or not isinstance(standard, str | int | float):
        raise MalformedPayload("money.standard is not a number")
    return parse_number(str(standard), "money.standard")


def parse_number(text: str, what: str) -> Decimal:
    """A finite decimal of a size an invoice can have ("NaN", "Infinity", "***" are not)."""
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise MalformedPayload(f"{what} is not a number") from None
    if not number.is_finite() or abs(number) >= MAX_MONEY:
        raise MalformedPayload(f"{what} is not a number an invoice can have")
    return number


class FieldReader:
    """Reads one record's fields; a value that cannot be read becomes None and its field is
    named in `unreadable`, so one bad value costs that field, not the record or the reply."""

    def __init__(self) -> None:
        self.unreadable: list[str] = []

    def read(self, field: str, parse: Callable[[], T]) -> T | None:
        try:
            return parse()
        except MalformedPayload:
            self.unreadable.append(field)
            return None


def _text(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


class LineItem(BaseModel):
    """One line of a VAT invoice. Absent values are None and render as a dash."""

    model_config = ConfigDict(frozen=True)

    id: str
    invoice_id: str
    name: str | None
    spec: str | None
    quantity: Decimal | None
    unit_price: Decimal | None
    amount: Decimal | None
    tax_rate: str | None
    tax: Decimal | None
    #: Fields Ekuaibao sent a value for that is not a number (shown as "—", with a warning).
    unreadable: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> LineItem:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("masterId"), str):
            raise MalformedPayload("line item without masterId")
        reader = FieldReader()
        quantity_text = _text(raw, _LINE + "数量")
        return cls(
            id=str(raw.get("id") or raw.get(_LINE + "code") or ""),
            invoice_id=raw["masterId"],
            name=_text(raw, _LINE + "name"),
            spec=_text(raw, _LINE + "规格型号"),
            quantity=reader.read("quantity", lambda: _quantity(quantity_text)),
            unit_price=reader.read("unit_price", lambda: parse_money(raw.get(_LINE + "单价"))),
            amount=reader.read("amount", lambda: parse_money(raw.get(_LINE + "金额"))),
            tax_rate=_text(raw, _LINE + "税率"),
            tax=reader.read("tax", lambda: parse_money(raw.get(_LINE + "税额"))),
            unreadable=tuple(reader.unreadable),
        )


def _quantity(text: str | None) -> Decimal | None:
    return parse_number(text, "quantity") if text else None


def link_expiry(url: str, fetched_at: float, *, query: str | None = None) -> int:
    """Epoch seconds the signed link dies: its `Expires` parameter, else fetch time + 1 h.

    `query`: the URL's query when the caller has already split it (one parse per link).
    """
    query = urllib.parse.urlsplit(url).query if query is None else query
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if "%" in key or "+" in key:
            key = urllib.parse.unquote_plus(key)
        if key == "Expires" and value.isascii() and value.isdigit():
            return int(value)
    return int(fetched_at) + LINK_LIFETIME_S


def attachment_kind(file_name: str, url: str, *, path: str | None = None) -> AttachmentKind:
    for candidate in (file_name, urllib.parse.urlsplit(url).path if path is None else path):
        extension = candidate.rsplit(".", 1)[-1].lower() if "." in candidate else ""
        if extension in _KINDS:
            return _KINDS[extension]
    return "file"


def _https(url: str) -> bool:
    """A thumbnail Slack may fetch: an absolute http(s) URL on one line."""
    return url.startswith(("https://", "http://")) and not any(c in url for c in " \r\n<>|")


def decode_file_name(name: str) -> str:
    """Decode `%XX` only where it forms valid UTF-8; names like `发票&%%-￥` stay as they are."""
    if "%" not in name:
        return name
    try:
        decoded = urllib.parse.unquote(name, errors="strict")
    except UnicodeDecodeError:
        return name
    return decoded


class Attachment(BaseModel):
    """A freshly signed file link. `url` is kept byte for byte: re-encoding breaks the signature."""

    model_config = ConfigDict(frozen=True)

    invoice_id: str
    url: str
    file_name: str
    kind: AttachmentKind
    expires_at: int
    #: A picture's thumbnail, signed like `url` (Ekuaibao gives "" for PDF, OFD and XML).
    thumb_url: str = ""

    @classmethod
    def from_api(cls, raw: Mapping[str, Any], fetched_at: float | None = None) -> Attachment:
        if not isinstance(raw, Mapping):
            raise MalformedPayload("attachment is not an object")
        invoice_id, url = raw.get("id"), raw.get("url")
        if not isinstance(invoice_id, str) or not isinstance(url, str) or not url:
            raise MalformedPayload("attachment without id or url")
        fetched = time.time() if fetched_at is None else fetched_at
        parts = urllib.parse.urlsplit(url)
        file_name = decode_file_name(str(raw.get("fileName") or "").strip())
        if not file_name:
            file_name = urllib.parse.unquote(parts.path.rsplit("/", 1)[-1])
        kind = attachment_kind(file_name, url, path=parts.path)
        thumb = raw.get("thumbUrl")
        return cls(
            invoice_id=invoice_id,
            url=url,
            file_name=file_name,
            kind=kind,
            expires_at=link_expiry(url, fetched, query=parts.query),
            thumb_url=thumb if kind == "image" and isinstance(thumb, str) and _https(thumb) else "",
        )
