import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasks.ekuaibao.json_answers import Record, item_records, whole
from tasks.ekuaibao.masters import InvoiceMaster
from tasks.ekuaibao.models import Attachment, LineItem

DATA = Path(__file__).resolve().parents[4] / "sandbox" / "data"
ANSWERS = sorted(DATA.glob("*.json"))


@pytest.mark.parametrize("path", ANSWERS, ids=lambda p: p.name)
def test_a_whole_answer_is_what_the_standard_decoder_reads(path: Path) -> None:
    content = path.read_bytes()
    assert whole(content) == json.loads(content)


@pytest.mark.parametrize("path", ANSWERS, ids=lambda p: p.name)
def test_records_hold_every_field_of_every_item(path: Path) -> None:
    content = path.read_bytes()
    expected = json.loads(content)
    decoded = item_records(content)
    if not isinstance(expected, dict) or not isinstance(expected.get("items"), list):
        assert decoded == expected  # not the items shape: decoded whole, for the caller
        return
    records = decoded["items"]
    assert all(isinstance(r, Record) for r in records)
    assert [dict(r) for r in records] == expected["items"]


def test_models_read_from_records_are_the_models_read_from_dicts() -> None:
    lines = (DATA / "detail-batch.response.json").read_bytes()
    assert [LineItem.from_api(r) for r in item_records(lines)["items"]] == [
        LineItem.from_api(r) for r in json.loads(lines)["items"]
    ]
    masters = (DATA / "invoice-master.response.json").read_bytes()
    assert [InvoiceMaster.from_api("invoice", r) for r in item_records(masters)["items"]] == [
        InvoiceMaster.from_api("invoice", r) for r in json.loads(masters)["items"]
    ]
    for object_id, raw in json.loads((DATA / "invoice-master.by-type.json").read_bytes()).items():
        content = json.dumps({"items": [raw]}, ensure_ascii=False).encode()
        (record,) = item_records(content)["items"]
        assert InvoiceMaster.from_api(object_id, record) == InvoiceMaster.from_api(object_id, raw)
    links = (DATA / "invoice-url.response.json").read_bytes()
    assert [Attachment.from_api(r, 1.0) for r in item_records(links)["items"]] == [
        Attachment.from_api(r, 1.0) for r in json.loads(links)["items"]
    ]


def test_a_field_is_decoded_once_and_only_when_read() -> None:
    (record,) = item_records(b'{"items": [{"a": {"b": [1, 2]}, "entity": {"x": 1}}]}')["items"]
    first = record["a"]
    assert first == {"b": [1, 2]} and record["a"] is first
    assert record.get("missing") is None and record.get("missing", 5) == 5
    assert "entity" in record and "missing" not in record
    assert len(record) == 2 and list(record) == ["a", "entity"]
    with pytest.raises(KeyError):
        record["missing"]
    assert "1" not in repr(record)  # no values in logs or tracebacks


def test_numbers_keep_their_exact_value() -> None:
    content = b'{"items": [{"n": 24442000000074288816123, "f": 0.1, "m": {"standard": 33}}]}'
    (record,) = item_records(content)["items"]
    assert record["n"] == 24442000000074288816123
    assert record["f"] == 0.1 and record["m"] == {"standard": 33}
    assert whole(b"[24442000000074288816123]") == [24442000000074288816123]


@pytest.mark.parametrize(
    "content",
    [
        b'\xef\xbb\xbf{"items": [{"a": 1}]}',  # a byte-order mark
        b'{"items": [{"a": NaN}]}',
        b'{"items": [{"a": "\\ud800"}]}',  # a lone surrogate
    ],
)
def test_what_only_the_standard_decoder_reads_is_read_as_before(content: bytes) -> None:
    expected = json.loads(content)
    decoded = item_records(content)
    assert json.dumps(decoded) == json.dumps(expected)
    assert json.dumps(whole(content)) == json.dumps(expected)


@pytest.mark.parametrize(
    "content",
    [b'{"items": 5}', b"[1]", b'{"items": [5]}', b'{"items": null}', b'{"value": {}}'],
)
def test_other_shapes_are_decoded_whole_for_the_caller_to_judge(content: bytes) -> None:
    assert item_records(content) == json.loads(content)


@pytest.mark.parametrize("content", [b"", b"<html>", b'{"items": [', b'{"a": "\xff"}'])
def test_a_body_that_is_not_json_raises_what_the_error_map_expects(content: bytes) -> None:
    for decode in (whole, item_records):
        with pytest.raises((json.JSONDecodeError, UnicodeDecodeError)):
            decode(content)


_JSON: Any = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(st.lists(st.dictionaries(st.text(), _JSON, max_size=6), max_size=4))
def test_any_items_read_back_as_they_were_written(items: list[dict[str, Any]]) -> None:
    content = json.dumps({"items": items, "count": len(items)}, ensure_ascii=False).encode()
    assert [dict(r) for r in item_records(content)["items"]] == items
