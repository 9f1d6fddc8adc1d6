"""An invoice's key fields, read from its data: the XML of a fully digital invoice (数电票),
or the tags and attachments inside an OFD.

Matched by local tag name, case-insensitively, so a namespace prefix or an issuer's
capitalisation does not matter; each field takes the first name in its list that has a
value. Values are cleaned to what they can be (an amount is a number, an invoice number
letters and digits), so a hostile file can put nothing else in front of a reader.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from tasks.files.safe_xml import Found, collect

NUMBER, SELLER, TOTAL = "number", "seller", "total"
FIELDS = (NUMBER, SELLER, TOTAL)

#: Tag names per field, best first. 数电票 XML: EIid in the Header, InvoiceNumber in
#: TaxSupervisionInfo, SellerName in SellerInformation, TotalTax-includedAmount (价税合计)
#: in BasicInformation. OFD invoices (CustomTag.xml, original_invoice.xml): InvoiceNo,
#: SellerName, TaxInclusiveTotalAmount. Older issuers' pinyin: Fphm, Xsfmc/Xfmc, Jshj.
TAGS: Mapping[str, tuple[str, ...]] = {
    NUMBER: ("eiid", "invoicenumber", "invoiceno", "fphm"),
    SELLER: ("sellername", "xsfmc", "xfmc"),
    TOTAL: ("totaltax-includedamount", "taxinclusivetotalamount", "jshj"),
}
#: A seller's name is taken from inside the seller's own block when there is one.
SELLER_BLOCKS = frozenset({"sellerinformation", "seller", "sellerinfo"})
#: The Chinese names an OFD's DocInfo may give the same fields (CustomData Name="…").
CUSTOM_DATA: Mapping[str, str] = {"发票号码": NUMBER, "销售方名称": SELLER, "价税合计": TOTAL}

TAG_FIELDS: Mapping[str, str] = {tag: name for name, tags in TAGS.items() for tag in tags}
MAX_SELLER_CHARS = 100
_NUMBER = re.compile(r"[0-9A-Za-z]{6,32}")
_AMOUNT = re.compile(r"-?\d{1,12}(\.\d{1,4})?")


def clean(name: str, raw: str) -> str | None:
    """The value as shown, or None when it cannot be that field."""
    text = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in raw)
    text = " ".join(text.split())
    if name == TOTAL:
        text = text.replace(",", "").lstrip("¥￥").removeprefix("CNY").removesuffix("元").strip()
        return text if _AMOUNT.fullmatch(text) else None
    if name == NUMBER:
        return text if _NUMBER.fullmatch(text) else None
    return text[:MAX_SELLER_CHARS] or None


def pick(found: Iterable[tuple[str, str, str]]) -> dict[str, str]:
    """Fields from (tag, parent, text) triples: each field's best tag with a usable value."""
    best: dict[str, tuple[int, str]] = {}
    for tag, parent, raw in found:
        name = TAG_FIELDS.get(tag)
        value = clean(name, raw) if name else None
        if name is None or value is None:
            continue
        rank = 2 * TAGS[name].index(tag) + (name == SELLER and parent not in SELLER_BLOCKS)
        if name not in best or rank < best[name][0]:
            best[name] = (rank, value)
    return {name: best[name][1] for name in FIELDS if name in best}


def _tag(local: str, _attributes: dict[str, str]) -> str | None:
    return local if local in TAG_FIELDS else None


def tagged(data: bytes) -> list[Found]:
    """The elements of an invoice XML (or an OFD tag file) that may hold a field."""
    return collect(data, _tag)


def from_xml(data: bytes) -> dict[str, str]:
    """The fields of an invoice's XML data file."""
    return pick((f.key, f.parent, f.value) for f in tagged(data))


def merge(*sources: Mapping[str, str]) -> dict[str, str]:
    """Each field from the first source that has it."""
    out: dict[str, str] = {}
    for source in sources:
        for name, value in source.items():
            out.setdefault(name, value)
    return {name: out[name] for name in FIELDS if name in out}
