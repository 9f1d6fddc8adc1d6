"""Key fields from an invoice's XML: the real tag names, tolerant of prefixes and case,
cleaned to what each field can be; and the parser refusing every declaration."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.make_files import NUMBER, SELLER, TOTAL
from tasks.files.fields import clean, from_xml, merge
from tasks.files.limits import MAX_XML_BYTES, MAX_XML_DEPTH
from tasks.files.results import PreviewFailed

FILES = Path(__file__).resolve().parents[4] / "sandbox" / "data" / "files"
EXPECTED = {"number": NUMBER, "seller": SELLER, "total": TOTAL}


def refused(data: bytes) -> str:
    with pytest.raises(PreviewFailed) as failed:
        from_xml(data)
    assert str(failed.value) == failed.value.reason
    return failed.value.reason


def test_the_sample_fully_digital_invoice() -> None:
    assert from_xml((FILES / "invoice.xml").read_bytes()) == EXPECTED


def test_prefixes_and_case_do_not_matter() -> None:
    data = (
        '<ns:EInvoice xmlns:ns="urn:x"><ns:TaxSupervisionInfo><ns:INVOICENUMBER>'
        "24442000000074288816</ns:INVOICENUMBER></ns:TaxSupervisionInfo><ns:SellerInformation>"
        "<ns:sellername> 中国联合 </ns:sellername></ns:SellerInformation>"
        "<ns:TotalTax-includedAmount>¥1,171.00</ns:TotalTax-includedAmount></ns:EInvoice>"
    )
    assert from_xml(data.encode()) == {
        "number": "24442000000074288816",
        "seller": "中国联合",
        "total": "1171.00",
    }


def test_the_best_tag_wins_and_the_seller_comes_from_its_own_block() -> None:
    data = (
        "<Invoice><Fphm>11111111</Fphm><EIid>24442000000074288816</EIid>"
        "<Other><SellerName>not this one</SellerName></Other>"
        "<SellerInformation><SellerName>the seller</SellerName></SellerInformation>"
        "<Jshj>9.00</Jshj></Invoice>"
    )
    assert from_xml(data.encode()) == {
        "number": "24442000000074288816",
        "seller": "the seller",
        "total": "9.00",
    }


def test_an_ofd_style_original_invoice() -> None:
    data = (
        '<fp:eInvoice xmlns:fp="urn:y"><fp:InvoiceNo>12345678</fp:InvoiceNo><fp:Seller>'
        "<fp:SellerName>某公司</fp:SellerName></fp:Seller>"
        "<fp:TaxInclusiveTotalAmount>56.50</fp:TaxInclusiveTotalAmount></fp:eInvoice>"
    )
    assert from_xml(data.encode()) == {"number": "12345678", "seller": "某公司", "total": "56.50"}


def test_a_gbk_declared_file_is_decoded() -> None:
    data = '<?xml version="1.0" encoding="GBK"?><r><SellerName>深圳分公司</SellerName></r>'
    assert from_xml(data.encode("gbk")) == {"seller": "深圳分公司"}


@pytest.mark.parametrize(
    ("name", "raw", "want"),
    [
        ("total", " ¥ 171.00 ", "171.00"),
        ("total", "CNY 1,234.5", "1234.5"),
        ("total", "171.00元", "171.00"),
        ("total", "一百七十一", None),
        ("total", "171.00; DROP", None),
        ("number", "2444 2000", None),
        ("number", "<b>1</b>", None),
        ("number", "24442000000074288816", "24442000000074288816"),
        ("seller", "a\x00b\u202ec\n  d", "a b c d"),
        ("seller", "   ", None),
        ("seller", "x" * 500, "x" * 100),
    ],
)
def test_values_are_cleaned_to_what_the_field_can_be(name: str, raw: str, want: str | None) -> None:
    assert clean(name, raw) == want


def test_nothing_found_is_no_fields() -> None:
    assert from_xml(b"<EInvoice><Header/></EInvoice>") == {}
    assert from_xml(b"<EInvoice><EIid>not a number!</EIid></EInvoice>") == {}


def test_merge_takes_each_field_from_the_first_source_that_has_it() -> None:
    assert merge({"total": "1.00"}, {"total": "2.00", "number": "12345678"}) == {
        "number": "12345678",
        "total": "1.00",
    }


def test_external_entities_and_billion_laughs_are_refused_unread() -> None:
    assert refused((FILES / "xxe.xml").read_bytes()) == "unsupported"
    assert refused((FILES / "billion-laughs.xml").read_bytes()) == "unsupported"
    assert refused(b'<!DOCTYPE r SYSTEM "http://127.0.0.1:1/x.dtd"><r/>') == "unsupported"
    assert refused(b"<!DOCTYPE r><r/>") == "unsupported"  # any DTD at all


def test_broken_huge_and_deep_files() -> None:
    assert refused(b"<EInvoice><EIid>1</EInvoice>") == "unreadable"
    assert refused(b"\x00\x01 not xml") == "unreadable"
    assert refused(b"<r>" + b" " * MAX_XML_BYTES + b"</r>") == "too_big"
    deep = MAX_XML_DEPTH + 1
    assert refused(b"<a>" * deep + b"</a>" * deep) == "unreadable"
