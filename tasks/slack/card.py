"""The invoice card in its two layouts, side by side: full (one reply of a few invoices)
and compact (one section per invoice, when a reply lists many).

Pure: the summaries are already fetched. Both layouts show the same facts (`facts.py`,
the one place to add one); only the arrangement differs. Ekuaibao's text goes into
`plain_text` objects where the layout allows, and is neutralised mrkdwn elsewhere: it is
shown as on the invoice, never formatted, linked or turned into an emoji.
"""

from __future__ import annotations

from tasks.ekuaibao.models import LineItem
from tasks.shared.blocks import (
    MAX_BLOCKS,
    MAX_SECTION,
    Block,
    amount,
    clip,
    context,
    escape,
    money,
    neutral,
    plain,
    plain_text,
    quantity,
    section,
    unit_price,
)
from tasks.shared.card_texts import CardTexts, card_texts
from tasks.shared.texts import Texts
from tasks.slack.attachments import (
    Previews,
    attachment_blocks,
    compact_files,
    picture,
    previewable,
)
from tasks.slack.facts import MAX_NAME, MAX_SPEC, MAX_TAX_RATE, Fact, invoice_facts
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


def _title(invoice: InvoiceSummary, texts: Texts) -> str:
    master = invoice.master
    number = plain(master.number, 60) if master and master.number else None
    return invoice_title(invoice.invoice_id, texts, master.object_id if master else None, number)


def _is_invoice(invoice: InvoiceSummary) -> bool:
    """A VAT invoice (not a ticket): its master says so, or its id has an invoice's shape
    (`corp:code:number`, or `corp::number` for a fully digital one)."""
    if invoice.master is not None:
        return invoice.master.object_id == "invoice"
    parts = invoice.invoice_id.split(":")
    return len(parts) >= 3 and parts[2].isdigit() and (parts[1] == "" or parts[1].isdigit())


def _no_lines_note(invoice: InvoiceSummary, texts: Texts) -> str:
    """Why an invoice has no lines: an invoice Ekuaibao has none for, or a ticket."""
    return texts.no_lines_invoice if _is_invoice(invoice) else texts.no_lines


# -- one line item, both layouts ----------------------------------------------------------


def _line_parts(line: LineItem, words: CardTexts) -> tuple[str, list[str], list[str]]:
    """(name, [amount, tax rate, tax], [spec, quantity, unit price when present]), raw."""
    name = clip(line.name, MAX_NAME) if line.name else "—"
    if line.amount is not None and line.amount < 0:
        name += words.discount
    main = [amount(line.amount)]
    if line.tax_rate:
        main.append(clip(line.tax_rate, MAX_TAX_RATE))
    main.append(amount(line.tax))
    extra = []
    if line.spec:
        extra.append(f"{words.spec} {clip(line.spec, MAX_SPEC)}")
    if line.quantity is not None:
        extra.append(f"{words.quantity} {quantity(line.quantity)}")
    if line.unit_price is not None:
        extra.append(f"{words.unit_price} {unit_price(line.unit_price)}")
    return name, main, extra


def _line_plain(n: int, line: LineItem, words: CardTexts) -> str:
    name, main, extra = _line_parts(line, words)
    return f"{n}. {plain(name)}\n      " + " · ".join([*main, *(plain(e) for e in extra)])


def _line_mrkdwn(n: int, line: LineItem, words: CardTexts) -> str:
    name, main, extra = _line_parts(line, words)
    main[0] = f"*{main[0]}*"
    rest = [main[0], *(neutral(m) for m in main[1:]), *(neutral(e) for e in extra)]
    return f"{n}. {neutral(name)} · " + " · ".join(rest)


def _fitted(texts: list[str], room: int, more: str) -> tuple[list[str], int]:
    """As many of `texts` as fit in `room` characters, with room left for the note."""
    kept: list[str] = []
    used = 0
    for text in texts:
        if used + len(text) + 1 + len(more) + 1 > room:
            break
        kept.append(text)
        used += len(text) + 1
    return kept, len(texts) - len(kept)


# -- totals and attachments, both layouts --------------------------------------------------


def _totals_text(invoice: InvoiceSummary, texts: Texts) -> str | None:
    """Excl. tax and tax; the line items' own total only where it adds something (no
    invoice total to compare, or a difference the mismatch warning already explains)."""
    if not invoice.lines:
        return None
    words, totals, master = card_texts(texts), invoice.totals, invoice.master
    parts = [words.excl_and_tax.format(amount=money(totals.amount), tax=money(totals.tax))]
    if master is None or master.total is None:
        parts.append(f"{words.lines_total} *{money(totals.total)}*")
    if totals.incomplete:
        parts.append(texts.totals_incomplete.format(count=totals.incomplete))
    return " · ".join(parts[:2]) + ("\n" + parts[2] if len(parts) > 2 else "")


# -- the full card ------------------------------------------------------------------------


def _summary_mrkdwn(facts: list[Fact]) -> str:
    shown = [f.value if f.ours else neutral(f.value, f.cap) for f in facts]
    return " · ".join(
        f"{f.label} *{v}*" if f.key == "total" else v for f, v in zip(facts, shown, strict=True)
    )


def _detail_fields(facts: list[Fact]) -> list[Block]:
    """plain_text fields: Ekuaibao's values exactly as sent (emoji codes stay literal)."""
    return [plain_text(f"{f.label}\n{plain(f.value, f.cap)}") for f in facts][:10]


def invoice_blocks(
    invoice: InvoiceSummary,
    texts: Texts,
    first_link_index: int = 0,
    with_links: bool = True,
    *,
    pictures: bool = False,
    previews: Previews | None = None,
) -> list[Block]:
    """One invoice: its title, the summary line (seller · 价税合计 · date · 验真), warnings,
    the rest of its header, its lines, totals and attachments."""
    facts, words = invoice_facts(invoice, texts), card_texts(texts)
    blocks: list[Block] = [
        {"type": "header", "text": plain_text(clip("🧾 " + _title(invoice, texts), 150))}
    ]
    summary = [f for f in facts if f.kind == "summary"]
    if summary:
        blocks.append(section(_summary_mrkdwn(summary)))
    blocks.extend(section(f.value) for f in facts if f.kind == "warning")
    details = [f for f in facts if f.kind == "detail"]
    if details:
        blocks.append({"type": "section", "fields": _detail_fields(details)})
    blocks.append(context(f"`{escape(invoice.invoice_id)}`"))
    if invoice.lines:
        shown = invoice.attachments[: MAX_BLOCKS // 4]
        images = sum(1 for a in shown if picture(a)) if pictures and with_links else 0
        buttons = sum(1 for a in shown if previewable(a, previews)) if with_links else 0
        budget = max(MAX_BLOCKS - 12 - len(invoice.attachments) - images - buttons, 1)
        blocks.extend(_line_sections(invoice, texts, words, budget))
        totals = _totals_text(invoice, texts)
        if totals:
            blocks.append(context(totals))
    else:
        blocks.append(section(_no_lines_note(invoice, texts)))
    blocks.extend(
        attachment_blocks(invoice, texts, first_link_index, with_links, pictures, previews)
    )
    return blocks


def _line_sections(
    invoice: InvoiceSummary, texts: Texts, words: CardTexts, budget: int
) -> list[Block]:
    """Line items in plain_text sections of ≤ 3000 characters, as few as fit the budget."""
    lines = [_line_plain(n, line, words) for n, line in enumerate(invoice.lines, start=1)]
    chunks: list[list[str]] = [[]]
    for text in lines:
        if sum(len(t) + 1 for t in chunks[-1]) + len(text) > MAX_SECTION - 120:
            if len(chunks) == budget:
                break
            chunks.append([])
        chunks[-1].append(text)
    shown = sum(len(c) for c in chunks)
    blocks = [{"type": "section", "text": plain_text("\n".join(c))} for c in chunks if c]
    if shown < len(lines):
        blocks.append(context(texts.too_long.format(count=len(lines) - shown)))
    return blocks


# -- the compact card ---------------------------------------------------------------------


def _compact_facts(facts: list[Fact]) -> list[str]:
    summary = [f for f in facts if f.kind == "summary"]
    details = [f for f in facts if f.kind == "detail"]
    rows = [_summary_mrkdwn(summary)] if summary else []
    if details:
        rows.append(
            " · ".join(
                f"{f.label} {f.value if f.ours else neutral(f.value, f.cap)}" for f in details
            )
        )
    rows.extend(f.value for f in facts if f.kind == "warning")
    return rows


def compact_invoice_blocks(
    invoice: InvoiceSummary,
    texts: Texts,
    first_link_index: int = 0,
    with_links: bool = True,
    *,
    pictures: bool = False,
    previews: Previews | None = None,
) -> list[Block]:
    """One invoice in one section (two with several attachments), for replies listing many
    invoices: every fact of the full card, then the lines as far as 3000 characters go, with
    a note saying how many are not shown. Buttons are named after their files. With
    `pictures`, the first picture's thumbnail sits beside the text and every button goes
    under it."""
    facts, words = invoice_facts(invoice, texts), card_texts(texts)
    head = [f"🧾 *{neutral(_title(invoice, texts))}*", *_compact_facts(facts)]
    head.append(f"`{escape(invoice.invoice_id)}`")
    tail = [
        _totals_text(invoice, texts) or ("" if invoice.lines else _no_lines_note(invoice, texts))
    ]
    files = compact_files(invoice, texts, first_link_index, with_links, pictures, previews)
    tail.extend(files.notes)
    head_text, tail_text = "\n".join(head), "\n".join(t for t in tail if t)
    room = MAX_SECTION - len(head_text) - len(tail_text) - 2
    lines = [_line_mrkdwn(n, line, words) for n, line in enumerate(invoice.lines, start=1)]
    kept, hidden = _fitted(lines, room, texts.too_long.format(count=len(lines)))
    if hidden:
        kept.append(texts.too_long.format(count=hidden))
    block: Block = section("\n".join([head_text, *kept, tail_text]))
    if files.accessory is not None:
        block["accessory"] = files.accessory
    return [block, files.buttons] if files.buttons else [block]
