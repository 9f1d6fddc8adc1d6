"""Pure renderers from typed results to Slack messages (Block Kit + plain-text fallback).

No I/O here: every value is already fetched. Everything that came from Ekuaibao or a user
is mrkdwn-escaped, and every message stays inside Slack's limits (50 blocks, 3000 chars a
section, 150 a header, 75 a button label), splitting into several messages when needed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Any

from tasks.contracts import MAX_IDS, Mode
from tasks.ekuaibao.models import Attachment, LineItem
from tasks.slack.texts import Texts
from tasks.summary import CENT, InvoiceSummary, LookupResult

Block = dict[str, Any]
Message = dict[str, Any]

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_BUTTON = 75
#: A response_url takes 5 posts; leave room for a progress note before the result.
MAX_MESSAGES = 4
#: Cap on one line item's name, so one absurd name cannot eat a whole section.
MAX_NAME = 300
DASH = "—"
#: Enough digits for any amount Ekuaibao could send; the default context (28) overflows.
_WIDE = Context(prec=120)


# -- text helpers ------------------------------------------------------------------------


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: exactly `&`, `<`, `>`, and `&` first."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def amount(value: Decimal | None) -> str:
    """Two decimals as on the invoice itself; more only where Ekuaibao gave more (unit prices)."""
    if value is None:
        return DASH
    exponent = value.as_tuple().exponent
    cents = value.quantize(CENT, context=_WIDE)
    if isinstance(exponent, int) and exponent < -2 and value != cents:
        return format(value.normalize(_WIDE), "f")
    return format(cents, "f")


def money(value: Decimal) -> str:
    return "¥" + amount(value)


def quantity(value: Decimal | None) -> str:
    """`1.00000000` reads as 1, `2.50000000` as 2.5."""
    if value is None:
        return DASH
    return format(value.normalize(_WIDE), "f")


def slack_date(epoch_s: int) -> str:
    """Shown in the reader's own time zone; the fallback is UTC for clients that can't."""
    fallback = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch_s))
    return f"<!date^{epoch_s}^{{date_short_pretty}} {{time}}|{fallback}>"


def _or_dash(text: str | None) -> str:
    return escape(text) if text else DASH


# -- blocks ------------------------------------------------------------------------------


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION)}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, MAX_SECTION)}]}


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, MAX_HEADER)}}


DIVIDER: Block = {"type": "divider"}


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
        name=_or_dash(clip(line.name, MAX_NAME) if line.name else None),
        spec=_or_dash(line.spec),
        quantity=quantity(line.quantity),
        unit_price=amount(line.unit_price),
        amount=amount(line.amount),
        tax_rate=_or_dash(line.tax_rate),
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
    from tasks.slack import headers  # renders the invoice master; kept apart from the line items

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
    from tasks.slack import headers

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
    from tasks.slack import headers

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


@dataclass(frozen=True)
class Controls:
    """The buttons under a reply, and what they need to redo it later."""

    owner: str
    mode: Mode = "full"
    report: str = ""
    page: int = 0
    #: share mode: who shared it.
    shared_by: str = ""


def _button(action_id: str, label: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": clip(label, MAX_BUTTON)},
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _controls_block(
    controls: Controls, texts: Texts, ids: Sequence[str], part: int, more: bool
) -> Block:
    """Button values carry what is needed to redo this message hours later (≤2000 chars)."""
    if controls.report:
        target: dict[str, Any] = {"r": controls.report, "p": controls.page, "m": part}
    else:
        target = {"i": list(ids)}
    value = json.dumps({**target, "u": controls.owner}, separators=(",", ":"))
    elements: list[Block]
    if controls.mode == "share":
        elements = [_button("get_my_links", texts.get_links_button, value, "primary")]
    else:
        elements = [
            _button("refresh_links", texts.refresh_button, value),
            _button("share_in_channel", texts.share_button, value),
        ]
    if more:
        next_page = json.dumps(
            {"r": controls.report, "p": controls.page + 1, "u": controls.owner},
            separators=(",", ":"),
        )
        elements.append(_button("show_more", texts.show_more_button, next_page))
    return {"type": "actions", "elements": elements}


def _invoice_groups(
    result: LookupResult, texts: Texts, share: bool, render: Callable[..., list[Block]]
) -> Iterator[tuple[list[str], list[Block]]]:
    """Each invoice's blocks (a divider first), then the ids not found, as one more group."""
    link_index = 0
    for invoice in result.invoices:
        blocks = render(invoice, texts, link_index, with_links=not share)
        yield [invoice.invoice_id], [DIVIDER, *blocks]
        link_index += len(invoice.attachments)
    if result.not_found:
        ids = ", ".join(f"`{escape(i)}`" for i in result.not_found)
        wording = texts.not_found_or_denied if result.hides_denials else texts.not_found
        yield (
            list(result.not_found),
            [DIVIDER, section(wording.format(count=len(result.not_found), ids=ids))],
        )


def lookup_messages(
    result: LookupResult, texts: Texts, controls: Controls | None = None
) -> list[Message]:
    """The whole reply: a summary, each invoice, what was not found; split at 50 blocks.

    With `controls`, every message ends with its own buttons, which redo just that message.
    """
    from tasks.slack import headers

    share = controls is not None and controls.mode == "share"
    head: list[Block] = []
    page = result.report
    if page is not None:
        head.extend(headers.report_header_blocks(page.info, page.report, page.total, texts))
        if page.total > page.count or page.first:
            head.append(
                context(
                    texts.report_page.format(
                        first=page.first + 1, last=page.first + page.count, total=page.total
                    )
                )
            )
        if page.total == 0:
            head.append(section(texts.report_empty.format(code=f"`{escape(page.report)}`")))
    if result.invoices:
        head.append(
            section(
                texts.summary.format(found=len(result.invoices), requested=len(result.requested))
            )
        )
    elif result.requested:
        head.append(section(texts.summary_none.format(requested=len(result.requested))))
    expiry = result.earliest_expiry
    if share:
        head.append(
            context(texts.shared_by.format(user=escape(controls.shared_by if controls else "")))
        )
    elif expiry is not None:
        head.append(context(texts.links_note.format(expires=slack_date(expiry))))

    room = MAX_BLOCKS - 2  # the buttons, and the "more in this report" note
    groups: list[tuple[list[str], list[Block]]] = []
    used = len(head)
    for full in _invoice_groups(result, texts, share, invoice_blocks):
        groups.append(full)
        used += len(full[1])
        if used > room:  # more than one message: every invoice in the compact layout
            groups = list(_invoice_groups(result, texts, share, compact_invoice_blocks))
            break
    pages: list[list[Block]] = [head]
    page_ids: list[list[str]] = [[]]
    for ids_of_group, group in groups:
        if len(pages[-1]) + len(group) > room:
            pages.append([])
            page_ids.append([])
        pages[-1].extend(group[1:] if not pages[-1] else group)
        page_ids[-1].extend(ids_of_group)
    if len(pages) > MAX_MESSAGES:  # cannot happen with ≤20 ids; a guard, never a silent cut
        pages = pages[:MAX_MESSAGES]
        pages[-1] = [*pages[-1][: room - 1], context(texts.too_long.format(count="some"))]
    more = page is not None and page.has_more
    if more and not share:
        pages[-1].append(
            context(
                texts.report_more.format(count=page.total - page.first - page.count) if page else ""
            )
        )
    fallback = texts.fallback.format(found=len(result.invoices), missing=len(result.not_found))
    messages: list[Message] = []
    for index, blocks in enumerate(pages):
        if controls is not None:
            last = index == len(pages) - 1
            blocks = [
                *blocks,
                _controls_block(
                    controls, texts, page_ids[index], index, more and last and not share
                ),
            ]
        messages.append({"text": fallback if index == 0 else texts.continued, "blocks": blocks})
    return messages


# -- short messages ----------------------------------------------------------------------


def simple(text: str) -> Message:
    """A one-section message whose fallback text is the same words."""
    return {"text": text, "blocks": [section(text)]}


def usage(texts: Texts) -> Message:
    return simple(texts.usage.format(limit=MAX_IDS))


def looking_up(count: int, texts: Texts) -> Message:
    text = texts.looking_up_one if count == 1 else texts.looking_up_many.format(count=count)
    return {"text": text}


def too_many(count: int, limit: int, texts: Texts) -> Message:
    return simple(texts.too_many.format(count=count, limit=limit))


def malformed(tokens: Sequence[str], texts: Texts) -> Message:
    shown = ", ".join(f"`{escape(clip(t, 60)).replace('`', 'ˋ')}`" for t in tokens[:5])
    if len(tokens) > 5:
        shown += f" (+{len(tokens) - 5})"
    plural = len(tokens) > 1
    return simple(
        texts.malformed.format(
            tokens=shown, verb="do" if plural else "does", them="them" if plural else "it"
        )
    )
