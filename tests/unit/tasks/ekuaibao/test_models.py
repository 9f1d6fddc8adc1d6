import json
from decimal import Decimal
from pathlib import Path

import pytest

from tasks.ekuaibao.models import (
    Attachment,
    LineItem,
    MalformedPayload,
    decode_file_name,
    link_expiry,
    parse_money,
)

DATA = Path(__file__).resolve().parents[4] / "sandbox" / "data"


def sample(name: str) -> dict:
    return json.loads((DATA / name).read_text())


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"standard": "343.36", "standardScale": 2}, Decimal("343.36")),
        ({"standard": "-110.62", "standardScale": "2"}, Decimal("-110.62")),
        ({"standard": 0}, Decimal("0")),
        ({"standard": "1"}, Decimal("1")),
        ({"standard": 0.1}, Decimal("0.1")),
        ({"standard": None}, None),
        ({"standard": ""}, None),
        (None, None),
    ],
)
def test_money_is_exact_decimal(raw: dict | None, expected: Decimal | None) -> None:
    assert parse_money(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        {"standard": "abc"},
        {"standard": True},
        "12",
        {"standard": "NaN"},
        {"standard": "-Infinity"},
        {"standard": "***"},
        {"standard": "1e200"},
        {"standard": 1e300},
        {"standard": "-1e50"},
    ],
)
def test_malformed_money_is_an_error_not_a_guess(raw: object) -> None:
    with pytest.raises(MalformedPayload):
        parse_money(raw)


def test_a_line_with_values_that_are_not_numbers_keeps_the_rest() -> None:
    raw = sample("invoice-detail.response.json")["items"][0]
    bad = {
        **raw,
        "E_system_发票明细_数量": "NaN",
        "E_system_发票明细_金额": {"standard": "Infinity"},
    }
    item, whole = LineItem.from_api(bad), LineItem.from_api(raw)
    assert (item.quantity, item.amount) == (None, None)
    assert item.unreadable == ("quantity", "amount")
    assert item.tax == whole.tax and item.name == whole.name and whole.unreadable == ()


def test_line_items_from_the_documented_batch() -> None:
    items = [LineItem.from_api(i) for i in sample("detail-batch.response.json")["items"]]
    discount = next(i for i in items if i.amount is not None and i.amount < 0)
    assert discount.unit_price is None and discount.quantity is None and discount.spec is None
    assert discount.tax == Decimal("-14.38")
    dollar = next(i for i in items if "$" in i.id)
    assert dollar.id == "ID_3tlmF6$S1bg"
    assert dollar.invoice_id == "djg8LshfUkfM00:044031900111:69872971"


def test_single_detail_with_string_scale_and_no_spec_key() -> None:
    item = LineItem.from_api(sample("invoice-detail.response.json")["items"][0])
    assert item.spec is None
    assert item.amount == Decimal("438.83") and item.tax == Decimal("13.17")


def test_attachment_url_is_kept_byte_for_byte() -> None:
    for raw in sample("invoice-url.response.json")["items"]:
        link = Attachment.from_api(raw, fetched_at=0)
        assert link.url == raw["url"]
        assert link.expires_at == 1710500135
    kinds = {
        Attachment.from_api(r, 0).invoice_id: Attachment.from_api(r, 0).kind
        for r in sample("invoice-url.response.json")["items"]
    }
    assert kinds["ID01xO4jZjprrx"] == "image"
    assert kinds["Tdk3tgber501v0:044002105112:13116949"] == "pdf"
    assert kinds["Tdk3tgber501v0::24442000000074288816"] == "ofd"
    assert kinds["Tdk3tgber501v0::23312000000123878916:2"] == "xml"


def test_expiry_falls_back_to_an_hour_after_fetching() -> None:
    assert link_expiry("https://x/a.pdf?Signature=abc", fetched_at=1000.5) == 4600
    assert link_expiry("https://x/a.pdf?Expires=1710500135&x=1", fetched_at=0) == 1710500135
    assert link_expiry("https://x/a.pdf?a=%26&Expires=1710500135", fetched_at=0) == 1710500135
    assert link_expiry("https://x/a.pdf?%45xpires=1710500135", fetched_at=0) == 1710500135
    assert link_expiry("https://x/a.pdf?Expires=soon&Expires=12", fetched_at=0) == 12
    assert link_expiry("https://x/a.pdf?Expires=²", fetched_at=7) == 3607
    assert link_expiry("https://x/a.pdf?XExpires=1&Expires", fetched_at=7) == 3607


def test_file_names_decode_only_valid_percent_sequences() -> None:
    assert decode_file_name("%E6%AD%A3%E5%B8%B81.jpg") == "正常1.jpg"
    assert decode_file_name("发票&%%-￥（士大夫）.pdf") == "发票&%%-￥（士大夫）.pdf"
    assert decode_file_name("100%E5.pdf") == "100%E5.pdf"
