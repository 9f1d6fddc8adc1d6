"""OFD invoices read, not rendered: fields wherever issuers keep them, and a zip judged
by its directory before anything is inflated."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from sandbox.make_files import NUMBER, SELLER, TOTAL
from tasks.files.limits import MAX_ZIP_BYTES, MAX_ZIP_ENTRIES, RATIO_FROM_BYTES
from tasks.files.ofd import check, read_ofd
from tasks.files.results import PreviewFailed

FILES = Path(__file__).resolve().parents[4] / "sandbox" / "data" / "files"
NS = 'xmlns:ofd="http://www.ofdspec.org/2016"'


def ofd(parts: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return out.getvalue()


def entry(size: int, compressed: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo("Doc_0/x.xml")
    info.file_size, info.compress_size = size, compressed
    return info


def test_the_sample_ofd_through_its_custom_tags() -> None:
    fields, pages = read_ofd((FILES / "invoice.ofd").read_bytes())
    assert fields == {"number": NUMBER, "seller": SELLER, "total": TOTAL}
    assert pages == 1


def test_an_original_invoice_attachment_comes_first() -> None:
    data = ofd(
        {
            "OFD.xml": f'<ofd:OFD {NS}><ofd:CustomData Name="发票号码">99999999</ofd:CustomData>'
            "</ofd:OFD>",
            "Doc_0/Attachs/original_invoice.xml": "<eInvoice><InvoiceNo>12345678</InvoiceNo>"
            "<Seller><SellerName>某公司</SellerName></Seller></eInvoice>",
        }
    )
    assert read_ofd(data) == ({"number": "12345678", "seller": "某公司"}, 0)


def test_doc_info_custom_data_fills_what_is_left() -> None:
    data = ofd(
        {
            "OFD.xml": f'<ofd:OFD {NS}><ofd:CustomDatas><ofd:CustomData Name="价税合计">'
            '¥88.00</ofd:CustomData><ofd:CustomData Name="other">x</ofd:CustomData>'
            "</ofd:CustomDatas></ofd:OFD>",
            "Doc_0/Pages/Page_0/Content.xml": f"<ofd:Page {NS}/>",
            "Doc_0/Pages/Page_1/Content.xml": f"<ofd:Page {NS}/>",
        }
    )
    assert read_ofd(data) == ({"total": "88.00"}, 2)


def test_a_tag_with_its_value_inline_and_a_hostile_tag_file_skipped() -> None:
    data = ofd(
        {
            "Doc_0/Tags/CustomTag.xml": f"<ofd:eInvoice {NS}><ofd:InvoiceNo>12345678"
            "</ofd:InvoiceNo></ofd:eInvoice>",
            "Doc_0/Tags/Evil.xml": '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            "<r><SellerName>&x;</SellerName></r>",
        }
    )
    assert read_ofd(data) == ({"number": "12345678"}, 0)


def test_nothing_found_is_no_fields() -> None:
    assert read_ofd(ofd({"OFD.xml": f"<ofd:OFD {NS}/>"})) == ({}, 0)


def test_not_a_zip_is_unreadable() -> None:
    with pytest.raises(PreviewFailed, match=r"^unreadable$"):
        read_ofd(b"PK\x03\x04 but nothing more")


def test_the_bomb_is_refused_from_its_directory() -> None:
    with pytest.raises(PreviewFailed, match=r"^too_big$"):
        read_ofd((FILES / "bomb.ofd").read_bytes())


def test_the_directory_checks() -> None:
    check([entry(100, 10)] * MAX_ZIP_ENTRIES)
    check([entry(RATIO_FROM_BYTES, 1)])  # small entries may compress very well
    for entries in (
        [entry(100, 10)] * (MAX_ZIP_ENTRIES + 1),
        [entry(MAX_ZIP_BYTES // 2 + 1, MAX_ZIP_BYTES // 2)] * 2,
        [entry(RATIO_FROM_BYTES + 1, 1)],
    ):
        with pytest.raises(PreviewFailed, match=r"^too_big$"):
            check(entries)
