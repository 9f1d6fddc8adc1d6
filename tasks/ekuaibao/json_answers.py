"""Ekuaibao's JSON answers, decoded: whole, or as records whose fields are read on demand.

A line item or an invoice master is ~80 % `entity` schema that we never show, and a
lookup's answers are ~100 KB: decoding all of it into dicts was most of what reading them
cost. `item_records` keeps each item's fields as undecoded JSON and decodes only the fields
a model reads. Numbers keep their exact value either way (a 20-digit invoice number sent as
a number stays that number). What msgspec refuses and the standard decoder accepts (a
byte-order mark, NaN, a lone surrogate) is decoded by the standard decoder, as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import msgspec

#: Bytes of a JSON answer -> its value; raises ValueError (json.JSONDecodeError or
#: UnicodeDecodeError) for a body that is not JSON.
Decode = Callable[[bytes], Any]


def whole(content: bytes) -> Any:
    """The whole answer as plain dicts, lists, strings and numbers."""
    try:
        return msgspec.json.decode(content)
    except msgspec.DecodeError:
        return json.loads(content)


class _Items(msgspec.Struct):
    items: list[dict[str, msgspec.Raw]]


_ITEMS = msgspec.json.Decoder(_Items)


def item_records(content: bytes) -> Any:
    """`{"items": [Record, ...]}` for an answer of that documented shape; any other answer
    (an error body, a shape we do not know) decoded `whole`, for the caller to judge."""
    try:
        answer = _ITEMS.decode(content)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return whole(content)
    return {"items": [Record(fields) for fields in answer.items]}


class Record(Mapping[str, Any]):
    """One item of an answer: a read-only mapping whose values are decoded when first read."""

    __slots__ = ("_fields", "_read")

    def __init__(self, fields: dict[str, msgspec.Raw]) -> None:
        self._fields = fields
        self._read: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        try:
            return self._read[key]
        except KeyError:
            pass
        value = whole(bytes(self._fields[key]))
        self._read[key] = value
        return value

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self._fields else default

    def __contains__(self, key: object) -> bool:
        return key in self._fields

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"Record({len(self._fields)} fields)"


__all__ = ["Decode", "Record", "item_records", "whole"]
