import json
import re
from decimal import Decimal
from pathlib import Path

from sandbox.blockkit import text_objects
from tasks.ekuaibao.client import InvoiceData
from tasks.ekuaibao.models import Attachment, LineItem
from tasks.shared import acks, blocks
from tasks.shared.texts import EN, ZH
from tasks.slack import card, render
from tasks.summary import assemble

DATA = Path(__file__).resolve().parents[4] / "sandbox" / "data"
INV_DISCOUNT = "djg8LshfUkfM00:033002100311:23272058"
INV_PHONE = "djg8LshfUkfM00:044031900111:69872971"


def lines() -> list[LineItem]:
    raw = json.loads((DATA / "detail-batch.response.json").read_text())["items"]
    return [LineItem.from_api(i) for i in raw]


def links() -> list[Attachment]:
    raw = json.loads((DATA / "invoice-url.response.json").read_text())["items"]
    return [Attachment.from_api(i, fetched_at=0) for i in raw]


def all_text(messages: list[dict]) -> str:
    return json.dumps(messages, ensure_ascii=False)


def line(invoice_id: str = "c:1:2", **kw: object) -> LineItem:
    base = dict(
        id="L",
        invoice_id=invoice_id,
        name="n",
        spec=None,
        quantity=None,
        unit_price=None,
        amount=Decimal("1.00"),
        tax_rate="13%",
        tax=Decimal("0.13"),
    )
    base.update(kw)
    return LineItem(**base)  # type: ignore[arg-type]


def test_totals_to_the_cent_with_a_discount_line() -> None:
    result = assemble((INV_DISCOUNT,), InvoiceData(tuple(lines()), (), 0))
    totals = result.invoices[0].totals
    assert (totals.amount, totals.tax, totals.total) == (
        Decimal("232.74"),
        Decimal("30.26"),
        Decimal("263.00"),
    )
    text = all_text(render.lookup_messages(result, EN))
    assert "¥232.74" in text and "¥30.26" in text and "¥263.00" in text
    assert "-110.62" in text and "-14.38" in text


def test_decimal_sums_do_not_drift_like_floats() -> None:
    items = tuple(line(amount=Decimal("0.10"), tax=Decimal("0.01")) for _ in range(3))
    result = assemble(("c:1:2",), InvoiceData(items, (), 0))
    assert result.invoices[0].totals.amount == Decimal("0.30")
    assert "¥0.30" in all_text(render.lookup_messages(result, EN))


def _plain_texts(messages: list[dict]) -> str:
    """Every plain_text object's text, and check each multi-line one keeps emoji codes literal."""
    found = [t for t in text_objects(messages) if t["type"] == "plain_text"]
    for obj in found:
        if "\n" in obj["text"]:
            assert obj.get("emoji") is False
    return "\n".join(t["text"] for t in found)


def _mrkdwn_texts(messages: list[dict]) -> str:
    return "\n".join(t["text"] for t in text_objects(messages) if t["type"] == "mrkdwn")


def test_each_line_shows_amount_rate_and_tax_then_only_the_fields_it_has() -> None:
    result = assemble((INV_DISCOUNT,), InvoiceData(tuple(lines()), (), 0))
    body = _plain_texts(render.lookup_messages(result, EN))
    assert "343.36 · 13% · 44.64 · Spec/model 42 · Qty 1 · Unit price 343.36" in body
    # the discount line has no spec, quantity or unit price: nothing is shown for them
    assert "男休闲鞋 (discount)\n      -110.62 · 13% · -14.38\n" in body + "\n"
    # Ekuaibao's own asterisks stay, shown literally in plain_text
    assert "*鞋*吉普" in body


def test_titles_are_readable() -> None:
    assert card.invoice_title(INV_DISCOUNT, EN) == "Invoice 033002100311 · No. 23272058"
    assert (
        card.invoice_title("Tdk3tgber501v0::23312000000123878916:2", EN)
        == "Fully digital invoice No. 23312000000123878916"
    )
    assert card.invoice_title("ID_3tlmF6$S1bg", EN) == "Invoice ID_3tlmF6$S1bg"


def test_links_exact_with_expiry_in_the_readers_time() -> None:
    ids = tuple(link.invoice_id for link in links())
    result = assemble(ids, InvoiceData((), tuple(links()), 0))
    messages = render.lookup_messages(result, EN)
    buttons = [b["accessory"] for m in messages for b in m["blocks"] if "accessory" in b]
    assert sorted(b["url"] for b in buttons) == sorted(link.url for link in links())
    text = all_text(messages)
    assert "<!date^1710500135^{date_short_pretty} {time}|2024-03-15 10:55 UTC>" in text
    assert "one hour" in text
    assert "No line items" in text


def test_everything_from_ekuaibao_is_escaped() -> None:
    evil = line(name="<@U123> & <!channel> *x* :white_check_mark:", spec="a>b", tax_rate="<13%>")
    link = Attachment(
        invoice_id="c:1:2",
        url="https://x/f.pdf?Expires=5",
        file_name="a&b<c>_x_.pdf",
        kind="pdf",
        expires_at=5,
    )
    result = assemble(("c:1:2",), InvoiceData((evil,), (link,), 0))
    for messages in (
        render.lookup_messages(result, EN),
        [{"blocks": card.compact_invoice_blocks(result.invoices[0], EN)}],
    ):
        mrkdwn = _mrkdwn_texts(messages)
        assert "<@U123>" not in mrkdwn and "<!channel>" not in mrkdwn
        assert "*x*" not in mrkdwn and ":white_check_mark:" not in mrkdwn
        assert "_x_" not in mrkdwn
    full = render.lookup_messages(result, EN)
    assert "a&amp;b&lt;c&gt;" in _mrkdwn_texts(full)
    # plain_text shows it exactly, and Slack never parses plain_text for mentions or links
    assert "<@U123> & <!channel> *x* :white_check_mark:" in _plain_texts(full)


def test_not_found_ids_are_listed_with_what_to_check() -> None:
    result = assemble(("nope:1:2", INV_DISCOUNT), InvoiceData(tuple(lines()), (), 0))
    messages = render.lookup_messages(result, EN)
    last = messages[-1]["blocks"][-1]["text"]["text"]
    assert "`nope:1:2`" in last and "typos" in last
    fallback = messages[0]["text"].splitlines()
    assert fallback[0] == "Invoice lookup: 1 found, 1 not found."
    assert f"{INV_DISCOUNT}: ¥263.00" in fallback and "nope:1:2" in fallback
    assert "run /invoice again" in fallback[-1]


def _check_limits(message: dict) -> None:
    assert len(message["blocks"]) <= 50
    assert message["text"]
    for block in message["blocks"]:
        if block["type"] == "section" and "text" in block:
            assert 1 <= len(block["text"]["text"]) <= 3000
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if "accessory" in block:
            assert len(block["accessory"]["text"]["text"]) <= 75


def _twenty(lines_each: int, attachments_each: int) -> tuple[tuple[str, ...], InvoiceData]:
    ids = tuple(f"c:{i:012d}:{i:08d}" for i in range(20))
    items = tuple(
        line(invoice_id=i, name="*货物*" + "长" * 200, id=f"{i}-{k}")
        for i in ids
        for k in range(lines_each)
    )
    attachments = tuple(
        Attachment(
            invoice_id=i,
            url=f"https://x/{n}-{k}.pdf?Expires=9",
            file_name=f"{n}-{k}.pdf",
            kind="pdf",
            expires_at=9,
        )
        for n, i in enumerate(ids)
        for k in range(attachments_each)
    )
    return ids, InvoiceData(items, attachments, 0)


def test_twenty_invoices_fit_one_message_in_the_compact_layout() -> None:
    ids, data = _twenty(lines_each=8, attachments_each=1)
    messages = render.lookup_messages(assemble(ids, data), EN)
    assert len(messages) == 1  # one post, not three: read in one place, in order
    _check_limits(messages[0])
    blocks = messages[0]["blocks"]
    invoices = [b for b in blocks if b["type"] == "section" and "🧾" in b["text"]["text"]]
    assert len(invoices) == 20
    assert [b["accessory"]["url"] for b in invoices] == [
        f"https://x/{n}-0.pdf?Expires=9" for n in range(20)
    ]
    for block in invoices:  # every line is either shown or counted as not shown
        text = block["text"]["text"]
        shown = len(re.findall(r"^\d+\. ", text, re.M))
        match = re.search(r"(\d+) more line\(s\) not shown", text)
        assert shown + (int(match.group(1)) if match else 0) == 8
        assert "Line items' total (明细合计) *¥9.04*" in text


def test_twenty_invoices_with_several_attachments_split_inside_slack_limits() -> None:
    ids, data = _twenty(lines_each=2, attachments_each=3)
    messages = render.lookup_messages(assemble(ids, data), EN)
    assert 1 < len(messages) <= blocks.MAX_MESSAGES
    for message in messages:
        _check_limits(message)
    buttons = [b["accessory"] for m in messages for b in m["blocks"] if "accessory" in b]
    buttons += [
        e
        for m in messages
        for b in m["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"].startswith("open_attachment_")
    ]
    assert len({b["action_id"] for b in buttons}) == len(buttons) == 60
    assert {b["url"] for b in buttons} == {a.url for a in data.attachments}


def test_a_short_reply_keeps_the_full_layout() -> None:
    ids, data = _twenty(lines_each=2, attachments_each=1)
    messages = render.lookup_messages(assemble(ids[:3], data), EN)
    assert len(messages) == 1
    assert sum(1 for b in messages[0]["blocks"] if b["type"] == "header") == 3


def test_an_invoice_with_hundreds_of_lines_says_what_it_left_out() -> None:
    items = tuple(line(name="x" * 250, id=str(n)) for n in range(600))
    messages = render.lookup_messages(assemble(("c:1:2",), InvoiceData(items, (), 0)), EN)
    for message in messages:
        _check_limits(message)
    text = all_text(messages)
    match = re.search(r"(\d+) more line\(s\) not shown", text)
    assert match
    shown = len(re.findall(r"\d+\. x{250}", text))
    assert shown + int(match.group(1)) == 600


def test_amount_and_quantity_formatting() -> None:
    assert blocks.amount(Decimal("4423.89")) == "4,423.89"
    assert blocks.amount(Decimal("1")) == "1.00"
    assert blocks.amount(Decimal("12.345")) == "12.35"  # money is two decimals, half up
    assert blocks.amount(Decimal("-0.001")) == "0.00"  # never -0.00
    assert blocks.amount(None) == "—" and blocks.money(None) == "—"
    assert blocks.amount(Decimal("1234567.5")) == "1,234,567.50"
    assert blocks.unit_price(Decimal("3.539823")) == "3.539823"  # every digit Ekuaibao gave
    assert blocks.unit_price(Decimal("343.3600")) == "343.36"
    assert blocks.unit_price(Decimal("4423.89")) == "4,423.89"
    assert blocks.quantity(Decimal("1.00000000")) == "1"
    assert blocks.quantity(Decimal("2.50000000")) == "2.5"
    assert blocks.quantity(Decimal("100")) == "100"
    assert blocks.money(Decimal("-110.62")) == "¥-110.62"


def test_short_messages() -> None:
    assert acks.looking_up(5, EN)["text"] == ":mag: Looking up 5 invoices…"
    assert acks.looking_up(1, EN)["text"] == ":mag: Looking up 1 invoice…"
    assert "at most 20" in acks.too_many(25, 20, EN)["text"]
    assert "`a!b`" in acks.malformed(["a!b"], EN)["text"]
    assert "/invoice" in acks.usage(EN)["text"]
    for texts in (EN, ZH):  # `<id>` would be read as Slack markup: it is escaped
        usage = acks.usage(texts)["text"]
        assert "&lt;id&gt;" in usage and "<id>" not in usage


def test_the_compact_layout_is_valid_block_kit_and_a_shared_one_has_no_links() -> None:
    from sandbox.blockkit import validate_message

    ids, data = _twenty(lines_each=3, attachments_each=1)
    result = assemble(ids, data)
    for controls in (
        render.Controls(owner="U1"),
        render.Controls(owner="U1", mode="share", shared_by="U1"),
    ):
        messages = render.lookup_messages(result, EN, controls)
        assert len(messages) == 1
        assert validate_message(messages[0]) == []
    shared = json.dumps(messages, ensure_ascii=False)
    assert "https://x/" not in shared and ":paperclip: 0-0.pdf" in shared


def test_the_compact_layout_in_chinese() -> None:
    from sandbox.blockkit import validate_message
    from tasks.shared.texts import texts_for

    ids, data = _twenty(lines_each=3, attachments_each=1)
    messages = render.lookup_messages(assemble(ids, data), texts_for("zh"), render.Controls("U1"))
    assert len(messages) == 1 and validate_message(messages[0]) == []
    text = json.dumps(messages, ensure_ascii=False)
    assert text.count("明细合计 *¥") == 20 and "Total" not in text and "Line items" not in text
