"""The invoice card in its two layouts, side by side: full (one reply of a few invoices)
and compact (one section per invoice, when a reply lists many).

Pure: the summaries are already fetched. Both layouts show the same facts; only the
arrangement differs.
"""

from __future__ import annotations

from tasks.ekuaibao.models import Attachment, LineItem
from tasks.slack import headers
from tasks.slack.blocks import (
    MAX_BLOCKS,
    MAX_BUTTON,
    MAX_NAME,
    MAX_SECTION,
    Block,
    amount,
    clip,
    context,
    escape,
    header,
    money,
    or_dash,
    quantity,
    section,
    slack_date,
)
from tasks.slack.texts import Texts
from tasks.summary import InvoiceSummary


def invoice_title(
    invoice_id: str, texts: Texts, object_id: str | None = None, number: str | None = None
) -> str:
    """Readable names: code + number for `corp:code:number`, the 20 digits for `corp::number`,
    the ticket type and number for tickets whose type the invoice master told us."""
    if object_id and object_id != "invoice":
        kind = texts.ticket_types.get(object_id, object_id)
        return f"{kind} {number or invoice_id}"
    parts = invoice_id.split(":")
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return texts.invoice_title.format(code=parts[1], number=parts[2])
    if len(parts) >= 3 and parts[1] == "" and parts[2].isdigit():
        return texts.digital_invoice_title.format(number=parts[2])
    return texts.raw_title.format(id=invoice_id)


def _line_text(n: int, line: LineItem, texts: Texts) -> str:
    return texts.line.format(
        n=n,
        name=or_dash(clip(line.name, MAX_NAME) if line.name else None),
        spec=or_dash(line.spec),
        quantity=quantity(line.quantity),
        unit_price=amount(line.unit_price),
        amount=amount(line.amount),
        tax_rate=or_dash(line.tax_rate),
        tax=amount(line.tax),
    )


def _line_sections(invoice: InvoiceSummary, texts: Texts, budget: int) -> list[Block]:
    """Line items packed into as few ≤3000-char sections as fit the block budget."""
    first = f"`{escape(invoice.invoice_id)}`"
    chunks: list[str] = [first]
    shown = 0
    for n, line in enumerate(invoice.lines, start=1):
        text = _line_text(n, line, texts)
        if len(chunks[-1]) + 1 + len(text) <= MAX_SECTION:
            chunks[-1] += "\n" + text
        elif len(chunks) < budget:
            chunks.append(text)
        else:
            break
        shown = n
    blocks = [section(chunk) for chunk in chunks]
    if shown < len(invoice.lines):
        blocks[-1] = section(
            chunks[-1] + "\n" + texts.too_long.format(count=len(invoice.lines) - shown)
        )
    return blocks


def _totals_block(invoice: InvoiceSummary, texts: Texts) -> list[Block]:
    totals = invoice.totals
    fields = [
        {"type": "mrkdwn", "text": f"{texts.totals_amount}\n{money(totals.amount)}"},
        {"type": "mrkdwn", "text": f"{texts.totals_tax}\n{money(totals.tax)}"},
        {"type": "mrkdwn", "text": f"{texts.totals_total}\n*{money(totals.total)}*"},
    ]
    blocks: list[Block] = [{"type": "section", "fields": fields}]
    if totals.incomplete:
        blocks.append(context(texts.totals_incomplete.format(count=totals.incomplete)))
    return blocks


def _paperclip(link: Attachment, texts: Texts) -> str:
    """An attachment named without its link (shared summaries)."""
    return f":paperclip: {escape(link.file_name)} · {texts.kinds[link.kind]}"


def _open_button(link: Attachment, index: int, texts: Texts) -> Block:
    label = clip(texts.open_button.format(kind=texts.kinds[link.kind]), MAX_BUTTON)
    return {
        "type": "button",
        "action_id": f"open_attachment_{index}",
        "text": {"type": "plain_text", "text": label},
        "url": link.url,
    }


def _attachment_block(link: Attachment, index: int, texts: Texts, with_link: bool = True) -> Block:
    if not with_link:
        return context(_paperclip(link, texts))
    text = texts.attachment.format(
        name=escape(link.file_name),
        kind=texts.kinds[link.kind],
        expires=slack_date(link.expires_at),
    )
    return {**section(text), "accessory": _open_button(link, index, texts)}


def _title(invoice: InvoiceSummary, texts: Texts) -> str:
    master = invoice.master
    return invoice_title(
        invoice.invoice_id,
        texts,
        master.object_id if master else None,
        master.number if master else None,
    )


def _no_lines_note(invoice: InvoiceSummary, texts: Texts) -> str:
    """Why an invoice has no lines: an invoice Ekuaibao has none for, or a ticket."""
    master = invoice.master
    if master is not None and master.object_id == "invoice":
        return texts.no_lines_invoice
    return texts.no_lines


def invoice_blocks(
    invoice: InvoiceSummary, texts: Texts, first_link_index: int = 0, with_links: bool = True
) -> list[Block]:
    """One invoice: header, master details, line items (or a note for tickets), totals,
    attachments."""
    master = invoice.master
    blocks: list[Block] = [header(":receipt: " + _title(invoice, texts))]
    if master is not None:
        fields = headers.invoice_header_fields(master, texts)
        if fields:
            blocks.append({"type": "section", "fields": fields})
        warning = headers.mismatch_warning(
            master, invoice.totals.total if invoice.lines else None, texts
        )
        if warning:
            blocks.append(section(warning))
    if invoice.lines:
        budget = MAX_BLOCKS - 10 - len(invoice.attachments)
        blocks.extend(_line_sections(invoice, texts, max(budget, 1)))
        blocks.extend(_totals_block(invoice, texts))
    else:
        blocks.append(section(f"`{escape(invoice.invoice_id)}`\n{_no_lines_note(invoice, texts)}"))
    if invoice.attachments:
        for offset, link in enumerate(invoice.attachments):
            blocks.append(_attachment_block(link, first_link_index + offset, texts, with_links))
    else:
        blocks.append(context(texts.no_attachment))
    return blocks


def _compact_head(invoice: InvoiceSummary, texts: Texts) -> str:
    master = invoice.master
    first = [f":receipt: *{escape(_title(invoice, texts))}*"]
    second: list[str] = []
    if master is not None:
        first.append(headers.category_words(master, texts))
        if master.issued_ms:
            first.append(headers.beijing_date(master.issued_ms))
        if master.seller:
            second.append(f"{texts.header_seller} {headers.fit(master.seller, 200)}")
        if master.buyer:
            second.append(f"{texts.header_buyer} {headers.fit(master.buyer, 200)}")
    lines = [" · ".join(first)]
    if second:
        lines.append(" · ".join(second))
    lines.append(f"`{escape(invoice.invoice_id)}`")
    return "\n".join(lines)


def _compact_tail(invoice: InvoiceSummary, texts: Texts, with_links: bool) -> str:
    master = invoice.master
    parts: list[str] = []
    if invoice.lines:
        totals = invoice.totals
        parts.append(
            f"{texts.totals_amount} {money(totals.amount)} · {texts.totals_tax} "
            f"{money(totals.tax)} · {texts.totals_total} *{money(totals.total)}*"
        )
        if totals.incomplete:
            parts.append(texts.totals_incomplete.format(count=totals.incomplete))
        if master is not None:
            warning = headers.mismatch_warning(master, totals.total, texts)
            if warning:
                parts.append(warning)
    else:
        parts.append(_no_lines_note(invoice, texts))
        if master is not None and master.total is not None:
            label = texts.header_total if master.object_id == "invoice" else texts.header_amount
            parts.append(f"{label} *{money(master.total)}*")
    if not invoice.attachments:
        parts.append(texts.no_attachment)
    elif not with_links:
        parts.extend(_paperclip(a, texts) for a in invoice.attachments)
    return "\n".join(parts)


def compact_invoice_blocks(
    invoice: InvoiceSummary, texts: Texts, first_link_index: int = 0, with_links: bool = True
) -> list[Block]:
    """One invoice in one section (two with several attachments), for replies listing many
    invoices: all of them fit in one message, where the full layout would take three.
    The first attachment is the section's button; line items are cut at 3000 characters
    with a note saying how many are not shown."""
    head = _compact_head(invoice, texts)
    tail = _compact_tail(invoice, texts, with_links)
    room = MAX_SECTION - len(head) - len(tail) - 2
    body: list[str] = []
    used = shown = 0
    for n, line in enumerate(invoice.lines, start=1):
        text = _line_text(n, line, texts)
        more = texts.too_long.format(count=len(invoice.lines) - n)
        if used + len(text) + 1 + len(more) + 1 > room:
            break
        body.append(text)
        used += len(text) + 1
        shown = n
    if shown < len(invoice.lines):
        body.append(texts.too_long.format(count=len(invoice.lines) - shown))
    block: Block = section("\n".join([head, *body, tail]))
    links = invoice.attachments if with_links else ()
    if links:
        block["accessory"] = _open_button(links[0], first_link_index, texts)
    blocks = [block]
    if len(links) > 1:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    _open_button(link, first_link_index + offset, texts)
                    for offset, link in enumerate(links[1:25], start=1)
                ],
            }
        )
    return blocks
