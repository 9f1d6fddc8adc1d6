"""Write the invoice files the previews are tested on: `python -m sandbox.make_files`.

Run once; the outputs under sandbox/data/files/ are committed, so tests never depend on
this script's libraries producing the same bytes twice. Each file is small on disk, the
hostile ones included: a bomb is a claim (a header, a compressed stream of zeros, a short
program run per pixel), never the gigabyte or the minutes it claims.
"""

from __future__ import annotations

import io
import struct
import sys
import zipfile
import zlib
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parent / "data" / "files"

NUMBER = "24442000000074288816"
SELLER = "中国联合网络通信有限公司深圳市分公司"
TOTAL = "171.00"
#: The amount without tax and the tax at 6%, adding up to TOTAL.
NET, TAX = "161.32", "9.68"

INVOICE_LINES = [
    (50, 780, 18, "Electronic Invoice (General VAT) - sample"),
    (50, 750, 11, f"Invoice No. {NUMBER}"),
    (50, 734, 11, "Issued 2024-06-05"),
    (50, 700, 11, "Buyer: Sample Trading Co., Ltd."),
    (50, 684, 11, "Seller: China United Network Communications, Shenzhen Branch"),
    (50, 640, 11, "Item                                Amount     Rate     Tax"),
    (50, 622, 11, f"*Telecom services* monthly fee     {NET}      6%       {TAX}"),
    (50, 580, 13, f"Total (tax included): CNY {TOTAL}"),
]


# --- PDF -------------------------------------------------------------------------------


def text_page(lines: list[tuple[int, int, int, str]]) -> bytes:
    ops = ["0.5 w 40 560 515 240 re S"]
    for x, y, size, text in lines:
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"BT /F1 {size} Tf {x} {y} Td ({escaped}) Tj ET")
    return "\n".join(ops).encode("latin-1")


def stream(body: bytes, entries: bytes = b"") -> bytes:
    return b"<< %s /Length %d >>\nstream\n%s\nendstream" % (entries, len(body), body)


def pdf(pages: list[tuple[float, float, bytes]], trailer: bytes = b"") -> bytes:
    """A minimal PDF written catalog last, so a file cut in half has no page tree at all."""
    return _pdf_objects(pages, b"", [], trailer)


def _pdf_objects(
    pages: list[tuple[float, float, bytes]],
    resources: bytes,
    extra: list[bytes],
    trailer: bytes = b"",
) -> bytes:
    """Objects: 1 the font, then `extra` (the pages' `resources` name them), then each
    page's content and dictionary, the page tree and the catalog."""
    first_page = 2 + len(extra)
    tree = first_page + 2 * len(pages)
    bodies = [b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>", *extra]
    for width, height, content in pages:
        bodies.append(stream(content))
        bodies.append(
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
            b"/Resources << /Font << /F1 1 0 R >> %s >> >>"
            % (tree, width, height, len(bodies), resources)
        )
    kids = b" ".join(b"%d 0 R" % (first_page + 1 + 2 * i) for i in range(len(pages)))
    bodies.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages)))
    bodies.append(b"<< /Type /Catalog /Pages %d 0 R >>" % tree)
    out, offsets = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"), []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R %s >>\n" % (len(bodies) + 1, len(bodies), trailer)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


#: The standard security handler (RC4, 40-bit) with a user password we never give: the
#: check values are made up, so no password, the empty one included, opens it.
ENCRYPTED = (
    b"/Encrypt << /Filter /Standard /V 1 /R 2 /P -3904 /O <%s> /U <%s> >> /ID [<%s> <%s>]"
    % (b"4f" * 32, b"55" * 32, b"1d" * 16, b"1d" * 16)
)


def cpu_bomb_pdf(steps: int = 10_000) -> bytes:
    """A page painted by a function-based shading whose PostScript program runs `steps`
    operations for every pixel: about a kilobyte, minutes of CPU at preview size."""
    program = zlib.compress(b"{ pop " + b"1 add sqrt " * steps + b"}")
    function = stream(
        program, b"/FunctionType 4 /Domain [0 1 0 1] /Range [0 1] /Filter /FlateDecode"
    )
    shading = (
        b"<< /ShadingType 1 /ColorSpace /DeviceGray /Domain [0 1 0 1]"
        b" /Matrix [595 0 0 842 0 0] /Function 2 0 R >>"
    )
    return _pdf_objects([(595, 842, b"/Sh0 sh")], b"/Shading << /Sh0 3 0 R >>", [function, shading])


# --- pictures --------------------------------------------------------------------------


def receipt_jpeg() -> bytes:
    image = Image.new("RGB", (600, 900), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=28)
    lines = ["SAMPLE TAXI RECEIPT", "2024-06-05 18:42", "Distance 12.4 km", "Fare CNY 46.00"]
    for i, line in enumerate(lines):
        draw.text((40, 60 + 60 * i), line, fill="black", font=font)
    draw.rectangle((20, 20, 580, 880), outline="black", width=3)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def pixel_bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG whose header claims width × height grey pixels: a few hundred bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 4)  # the first few rows only
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


# --- XML: a fully digital invoice's data file ------------------------------------------


def invoice_xml() -> bytes:
    """The tag names of a 数电票 data file; ids and the buyer are made up."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<EInvoice>
  <Header>
    <EIid>{NUMBER}</EIid>
    <EInvoiceTag>SWEI4400</EInvoiceTag>
    <Version>0.1</Version>
    <InherentLabel>
      <EInvoiceType><LabelCode>02</LabelCode><LabelName>普通发票</LabelName></EInvoiceType>
      <GeneralOrSpecialVAT><LabelCode>02</LabelCode><LabelName>普通发票</LabelName></GeneralOrSpecialVAT>
    </InherentLabel>
  </Header>
  <EInvoiceData>
    <SellerInformation>
      <SellerIdNum>914403000000000000</SellerIdNum>
      <SellerName>{SELLER}</SellerName>
    </SellerInformation>
    <BuyerInformation>
      <BuyerIdNum>91440300111111111X</BuyerIdNum>
      <BuyerName>示例贸易有限公司</BuyerName>
    </BuyerInformation>
    <BasicInformation>
      <TotalAmWithoutTax>{NET}</TotalAmWithoutTax>
      <TotalTaxAm>{TAX}</TotalTaxAm>
      <TotalTax-includedAmount>{TOTAL}</TotalTax-includedAmount>
      <TotalTax-includedAmountInChinese>壹佰柒拾壹圆整</TotalTax-includedAmountInChinese>
      <Drawer>示例</Drawer>
      <RequestTime>2024-06-05 10:21:33</RequestTime>
    </BasicInformation>
    <IssuItemInformation>
      <ItemName>*电信服务*通信服务费</ItemName>
      <Amount>{NET}</Amount>
      <TaxRate>0.06</TaxRate>
      <ComTaxAm>{TAX}</ComTaxAm>
    </IssuItemInformation>
  </EInvoiceData>
  <TaxSupervisionInfo>
    <InvoiceNumber>{NUMBER}</InvoiceNumber>
    <IssueTime>2024-06-05 10:21:33</IssueTime>
    <TaxBureauName>国家税务总局深圳市税务局</TaxBureauName>
  </TaxSupervisionInfo>
</EInvoice>
""".encode()


def xxe_xml() -> bytes:
    return b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE EInvoice [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<EInvoice><Header><EIid>&xxe;</EIid></Header></EInvoice>
"""


def billion_laughs_xml() -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    body = "\n".join(entities)
    return f'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n{body}\n]>\n<lolz>&lol9;</lolz>\n'.encode()


# --- OFD: the zip China's e-invoices come in -------------------------------------------

OFD_NS = 'xmlns:ofd="http://www.ofdspec.org/2016"'
ISSUED = (2024, 6, 5, 10, 21, 32)
#: The page's text objects: (id, text). The CustomTag file points at them by id; the total
#: is split in two objects, "¥" and the figure, as issuing software often draws it.
OFD_TEXTS = [
    ("101", "电子发票（普通发票）"),
    ("102", NUMBER),
    ("103", "2024年06月05日"),
    ("104", SELLER),
    ("105", "¥"),
    ("106", TOTAL),
]
OFD_TAGS = [("InvoiceNo", ["102"]), ("IssueDate", ["103"]), ("SellerName", ["104"])]
OFD_TAGS.append(("TaxInclusiveTotalAmount", ["105", "106"]))


def invoice_ofd() -> bytes:
    texts = "".join(
        f'<ofd:TextObject ID="{oid}" Boundary="10 {10 + 8 * i} 120 6" Font="1" Size="3.5">'
        f'<ofd:TextCode X="0" Y="4">{text}</ofd:TextCode></ofd:TextObject>'
        for i, (oid, text) in enumerate(OFD_TEXTS)
    )
    refs = {
        tag: "".join(f'<ofd:ObjectRef PageRef="1">{r}</ofd:ObjectRef>' for r in ids)
        for tag, ids in OFD_TAGS
    }
    tags = "".join(f"<ofd:{tag}>{inner}</ofd:{tag}>" for tag, inner in refs.items())
    parts = {
        "OFD.xml": f'<ofd:OFD {OFD_NS} Version="1.1" DocType="OFD"><ofd:DocBody><ofd:DocInfo>'
        "<ofd:DocID>0c2f9b2e5a1d4f6c8e7b3a9d1f0e2c4b</ofd:DocID><ofd:CustomDatas>"
        '<ofd:CustomData Name="native-producer">SWEI4400</ofd:CustomData></ofd:CustomDatas>'
        "</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>",
        "Doc_0/Document.xml": f"<ofd:Document {OFD_NS}><ofd:CommonData><ofd:MaxUnitID>200"
        "</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 140</ofd:PhysicalBox>"
        '</ofd:PageArea></ofd:CommonData><ofd:Pages><ofd:Page ID="1" '
        'BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages>'
        "<ofd:CustomTags>Tags/CustomTags.xml</ofd:CustomTags></ofd:Document>",
        "Doc_0/Tags/CustomTags.xml": f'<ofd:CustomTags {OFD_NS}><ofd:CustomTag NameSpace="">'
        "<ofd:FileLoc>CustomTag.xml</ofd:FileLoc></ofd:CustomTag></ofd:CustomTags>",
        "Doc_0/Tags/CustomTag.xml": f"<ofd:eInvoice {OFD_NS}>{tags}</ofd:eInvoice>",
        "Doc_0/Pages/Page_0/Content.xml": f"<ofd:Page {OFD_NS}><ofd:Content>"
        f'<ofd:Layer ID="100">{texts}</ofd:Layer></ofd:Content></ofd:Page>',
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            entry = zipfile.ZipInfo(name, date_time=ISSUED)  # the same bytes on every run
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, '<?xml version="1.0" encoding="UTF-8"?>\n' + text)
    return out.getvalue()


def bomb_ofd(path: Path, gigabytes: float = 1.1) -> None:
    """An OFD whose page inflates to more than a gigabyte, from a few KB: bzip2 turns a run
    of zeros into almost nothing. Written a megabyte at a time, never held whole."""
    zeros = bytes(2**20)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("OFD.xml", date_time=ISSUED), f"<ofd:OFD {OFD_NS}/>")
        entry = zipfile.ZipInfo("Doc_0/Pages/Page_0/Content.xml", date_time=ISSUED)
        entry.compress_type = zipfile.ZIP_BZIP2
        with archive.open(entry, "w") as page:
            for _ in range(int(gigabytes * 1024)):
                page.write(zeros)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    invoice = pdf([(595, 842, text_page(INVOICE_LINES))])
    second = text_page([(50, 780, 14, "Page 2: line items, continued")])
    files = {
        "invoice.pdf": invoice,
        "two-pages.pdf": pdf([(595, 842, text_page(INVOICE_LINES)), (595, 842, second)]),
        "wide-page.pdf": pdf([(100_000, 842, text_page(INVOICE_LINES))]),
        "truncated.pdf": invoice[: len(invoice) // 2],
        "encrypted.pdf": pdf([(595, 842, text_page(INVOICE_LINES))], trailer=ENCRYPTED),
        "cpu-bomb.pdf": cpu_bomb_pdf(),
        "receipt.jpg": receipt_jpeg(),
        "pixel-bomb.png": pixel_bomb_png(),
        "invoice.xml": invoice_xml(),
        "xxe.xml": xxe_xml(),
        "billion-laughs.xml": billion_laughs_xml(),
        "invoice.ofd": invoice_ofd(),
    }
    for name, data in files.items():
        (OUT / name).write_bytes(data)
    bomb_ofd(OUT / "bomb.ofd")
    for path in sorted(OUT.iterdir()):
        print(f"{path.name:20} {path.stat().st_size:>8} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
