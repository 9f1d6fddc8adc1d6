"""The whole reply from a typed result: a summary, each invoice card, what was not found,
the buttons; split into messages at Slack's 50 blocks.

No I/O here: every value is already fetched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from tasks.contracts import ButtonValue, Mode
from tasks.shared.blocks import (
    DIVIDER,
    MAX_BLOCKS,
    MAX_MESSAGES,
    Block,
    Message,
    button,
    context,
    escape,
    money,
    section,
    slack_date,
)
from tasks.shared.card_texts import card_texts
from tasks.shared.texts import Texts
from tasks.slack import headers
from tasks.slack.attachments import Previews
from tasks.slack.card import compact_invoice_blocks, invoice_blocks
from tasks.slack.checks import report_checks_blocks
from tasks.summary import LookupResult


@dataclass(frozen=True)
class Controls:
    """The buttons under a reply, and what they need to redo it later."""

    owner: str
    mode: Mode = "full"
    report: str = ""
    page: int = 0
    #: share mode: who shared it.
    shared_by: str = ""
    #: Offer "Keep in my DMs" (an ephemeral reply, which vanishes on reload).
    keep: bool = False
    #: Show pictures' thumbnails (PREVIEWS is not off); never in a shared copy.
    pictures: bool = False
    #: Offer a Preview of PDF, OFD and XML files (PREVIEWS=all); never in a shared copy.
    previews: bool = False


def _controls_block(
    controls: Controls, texts: Texts, ids: Sequence[str], part: int, more: bool, found: bool
) -> Block | None:
    """Button values carry what is needed to redo this message hours later (≤2000 chars).
    Only buttons that do something: with nothing found, just Show more (if there is more)."""
    if not found:
        return {"type": "actions", "elements": [_show_more(controls, texts)]} if more else None
    return _buttons(controls, texts, ids, part, more)


def _show_more(controls: Controls, texts: Texts) -> Block:
    next_page = ButtonValue(report=controls.report, page=controls.page + 1, owner=controls.owner)
    return button("show_more", texts.show_more_button, next_page.encode())


def _buttons(controls: Controls, texts: Texts, ids: Sequence[str], part: int, more: bool) -> Block:
    if controls.report:
        value = ButtonValue(
            report=controls.report, page=controls.page, part=part, owner=controls.owner
        ).encode()
    else:
        value = ButtonValue(ids=tuple(ids), owner=controls.owner).encode()
    elements: list[Block]
    if controls.mode == "share":
        elements = [button("get_my_links", texts.get_links_button, value, "primary")]
    else:
        elements = [
            button("refresh_links", texts.refresh_button, value),
            button("share_in_channel", texts.share_button, value),
        ]
        if controls.keep:
            elements.append(button("keep_in_dm", texts.keep_button, value))
    if more:
        elements.append(_show_more(controls, texts))
    return {"type": "actions", "elements": elements}


def _invoice_groups(
    result: LookupResult,
    texts: Texts,
    share: bool,
    render: Callable[..., list[Block]],
    pictures: bool = False,
    previews: Previews | None = None,
) -> Iterator[tuple[list[str], list[Block]]]:
    """Each invoice's blocks (a divider first), then the ids not found, as one more group."""
    link_index = 0
    for invoice in result.invoices:
        blocks = render(
            invoice,
            texts,
            link_index,
            with_links=not share,
            pictures=pictures and not share,
            previews=None if share else previews,
        )
        yield [invoice.invoice_id], [DIVIDER, *blocks]
        link_index += len(invoice.attachments)
    if result.not_found:
        ids = ", ".join(f"`{escape(i)}`" for i in result.not_found)
        wording = texts.not_found_or_denied if result.hides_denials else texts.not_found
        if share:  # the channel sees it: no advice meant for the person who asked
            wording = card_texts(texts).not_found_shared
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
    share = controls is not None and controls.mode == "share"
    head = _head(result, texts, controls if share else None)
    room = MAX_BLOCKS - 2  # the buttons, and the "more in this report" note
    pictures = controls is not None and controls.pictures
    previews = Previews(owner=controls.owner) if controls and controls.previews else None
    groups = _groups(result, texts, share, room - len(head), pictures, previews)
    pages, page_ids = _paginate(head, groups, room)
    if len(pages) > MAX_MESSAGES:  # cannot happen with ≤20 ids; a guard, never a silent cut
        pages = pages[:MAX_MESSAGES]
        pages[-1] = [*pages[-1][: room - 1], context(texts.too_long.format(count="some"))]
    page = result.report
    more = page is not None and page.has_more
    if more and not share:
        pages[-1].append(
            context(
                texts.report_more.format(count=page.total - page.first - page.count) if page else ""
            )
        )
    fallback = _fallback(result, texts)
    messages: list[Message] = []
    for index, blocks in enumerate(pages):
        if controls is not None:
            last = index == len(pages) - 1
            buttons = _controls_block(
                controls,
                texts,
                page_ids[index],
                index,
                more and last and not share,
                found=bool(result.invoices),
            )
            blocks = [*blocks, buttons] if buttons else blocks
        messages.append({"text": fallback if index == 0 else texts.continued, "blocks": blocks})
    return messages


def _fallback(result: LookupResult, texts: Texts) -> str:
    """The text Slack shows where blocks cannot be (notifications, a refused reply): the ids,
    their totals and what to do, not just counts."""
    words = card_texts(texts)
    rows = [texts.fallback.format(found=len(result.invoices), missing=len(result.not_found))]
    for invoice in result.invoices:
        total = money(invoice.amount_due)
        rows.append(words.fallback_invoice.format(id=invoice.invoice_id, total=total))
    rows.extend(result.not_found)
    rows.append(words.fallback_next)
    return "\n".join(rows)[:3000]


def _head(result: LookupResult, texts: Texts, shared: Controls | None) -> list[Block]:
    """The report header (if any), the summary line, and who shared it or when links expire."""
    head: list[Block] = []
    page = result.report
    if page is not None:
        head.extend(
            headers.report_header_blocks(
                page.info, page.report, page.total, texts, page.submitter_name
            )
        )
        head.extend(report_checks_blocks(page, result.invoices, texts, result))
        if page.total:  # the page says how many: no "found 20 of 20" beside "1–20 of 45"
            head.append(
                context(
                    texts.report_page.format(
                        first=page.first + 1, last=page.first + page.count, total=page.total
                    )
                )
            )
        if page.total == 0:
            head.append(section(texts.report_empty.format(code=f"`{escape(page.report)}`")))
    if page is None and result.invoices:
        head.append(
            section(
                texts.summary.format(found=len(result.invoices), requested=len(result.requested))
            )
        )
    elif page is None and result.requested:
        head.append(section(texts.summary_none.format(requested=len(result.requested))))
    expiry = result.earliest_expiry
    if shared is not None:
        head.append(context(texts.shared_by.format(user=escape(shared.shared_by))))
    elif expiry is not None:
        head.append(context(texts.links_note.format(expires=slack_date(expiry))))
    return head


def _groups(
    result: LookupResult,
    texts: Texts,
    share: bool,
    room: int,
    pictures: bool,
    previews: Previews | None,
) -> list[tuple[list[str], list[Block]]]:
    """Every invoice in the full layout if the reply fits one message, else all compact."""
    groups: list[tuple[list[str], list[Block]]] = []
    used = 0
    for full in _invoice_groups(result, texts, share, invoice_blocks, pictures, previews):
        groups.append(full)
        used += len(full[1])
        if used > room:  # more than one message: every invoice in the compact layout
            draw = compact_invoice_blocks
            return list(_invoice_groups(result, texts, share, draw, pictures, previews))
    return groups


def _paginate(
    head: list[Block], groups: list[tuple[list[str], list[Block]]], room: int
) -> tuple[list[list[Block]], list[list[str]]]:
    """Groups packed into messages of at most `room` blocks, and the ids each one shows."""
    pages: list[list[Block]] = [head]
    page_ids: list[list[str]] = [[]]
    for ids_of_group, group in groups:
        if len(pages[-1]) + len(group) > room:
            pages.append([])
            page_ids.append([])
        pages[-1].extend(group[1:] if not pages[-1] else group)
        page_ids[-1].extend(ids_of_group)
    return pages, page_ids
