"""Pure renderers for the approver: the review card, the card once the report moved on,
more invoices, reminders, the queue and the Home tab.

The invoices are drawn by the lookup's own compact layout
(`tasks.slack.card.compact_invoice_blocks`), so a card shows each invoice exactly as
`/invoice` does. Every Ekuaibao value is escaped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from tasks.ekuaibao.approval_models import Flow, Stage
from tasks.shared import blocks as kit
from tasks.shared.acks import simple
from tasks.shared.blocks import Block, Message, context, escape, money, section, slack_date
from tasks.shared.review_texts import ReviewTexts
from tasks.shared.texts import Texts
from tasks.slack.attachments import Previews
from tasks.slack.card import compact_invoice_blocks
from tasks.slack.checks import Checks as Checks  # re-exported: the review card shows them
from tasks.slack.checks import checks_text
from tasks.summary import InvoiceSummary, LookupResult

#: Invoices on the card itself; the rest come with "Show more", this many at a time.
CARD_INVOICES = 20
#: Reports listed in a queue reply (one section each) and on the Home tab.
QUEUE_SHOWN = 20
HOME_SHOWN = 40


@dataclass(frozen=True)
class ReviewView:
    """Everything one card shows, fetched beforehand."""

    flow: Flow
    stage: Stage
    submitter: str
    department: str | None
    template: str | None
    invoices: LookupResult
    checks: Checks
    #: Show pictures' thumbnails beside their invoices (PREVIEWS is not off).
    pictures: bool = False
    #: Offer a Preview of PDF, OFD and XML files, into the card's thread (PREVIEWS=all).
    previews: bool = False


def _value(**fields: object) -> str:
    return json.dumps(fields, separators=(",", ":"))


def _button(action_id: str, label: str, value: str) -> Block:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": kit.clip(label, kit.MAX_BUTTON)},
        "value": value,
    }


def _title(flow: Flow) -> str:
    return flow.title or "—"


def _amount(flow: Flow) -> str:
    if flow.amount is None:
        return "—"
    return money(flow.amount) + ("" if flow.currency == "CNY" else f" {escape(flow.currency)}")


def _when(ms: int | None) -> str:
    return slack_date(ms // 1000) if ms else "—"


def _invoice_page(
    invoices: Sequence[InvoiceSummary],
    first: int,
    texts: Texts,
    room: int,
    pictures: bool,
    previews: bool = False,
) -> tuple[list[Block], int]:
    """Compact invoices from `first` while they fit in `room` blocks (≤ CARD_INVOICES)."""
    blocks: list[Block] = []
    link_index = sum(len(inv.attachments) for inv in invoices[:first])
    shown = 0
    on_card = Previews(on_card=True) if previews else None
    for invoice in invoices[first : first + CARD_INVOICES]:
        drawn = compact_invoice_blocks(
            invoice, texts, link_index, pictures=pictures, previews=on_card
        )
        if len(blocks) + len(drawn) > room:
            break
        blocks.extend(drawn)
        link_index += len(invoice.attachments)
        shown += 1
    return blocks, shown


def review_card(view: ReviewView, texts: Texts, review: ReviewTexts) -> Message:
    flow, checks = view.flow, view.checks
    title = review.card_title.format(code=flow.code or flow.flow_id, title=_title(flow))
    fields = [
        (review.submitter, escape(view.submitter)),
        (review.department, escape(view.department or "—")),
        (review.template, escape(view.template or "—")),
        (review.submitted, _when(flow.submitted_ms)),
        (review.node, escape(view.stage.name or "—")),
        (review.total, _amount(flow)),
    ]
    head: list[Block] = [
        kit.header(title),
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": f"{k}\n{v}"} for k, v in fields],
        },
    ]
    head.append(section(checks_text(checks, flow.amount, review)))
    everything = view.invoices.invoices
    room = kit.MAX_BLOCKS - len(head) - 3
    body, shown = _invoice_page(everything, 0, texts, room, view.pictures, view.previews)
    notes = [
        review.invoices_shown.format(first=1 if shown else 0, last=shown, total=len(everything))
    ]
    expiry = min(
        (a.expires_at for inv in everything[:shown] for a in inv.attachments), default=None
    )
    if expiry is not None:
        notes.append(review.links_note.format(expires=slack_date(expiry)))
    buttons = [
        _button("review_refresh", review.refresh_button, _value(f=flow.flow_id)),
        _button("review_open", review.open_button, _value(f=flow.flow_id)),
    ]
    if shown < len(everything):
        buttons.append(_button("review_more", review.more_button, _value(f=flow.flow_id, p=1)))
    blocks = [
        *head,
        context("\n".join(notes)),
        kit.DIVIDER,
        *body,
        {"type": "actions", "block_id": f"review:{flow.updated_ms or 0}", "elements": buttons},
    ]
    fallback = review.card_fallback.format(code=flow.code or flow.flow_id)
    return {"text": fallback, "blocks": blocks}


def more_invoices(
    flow: Flow,
    invoices: Sequence[InvoiceSummary],
    page: int,
    texts: Texts,
    review: ReviewTexts,
    *,
    pictures: bool = False,
    previews: bool = False,
) -> Message:
    """Page `page` (from 1) of the invoices after the card's, as a reply in its thread."""
    first = page * CARD_INVOICES
    body, shown = _invoice_page(invoices, first, texts, kit.MAX_BLOCKS - 3, pictures, previews)
    notes = review.invoices_shown.format(
        first=first + 1 if shown else first, last=first + shown, total=len(invoices)
    )
    blocks: list[Block] = [context(notes), *body]
    if first + shown < len(invoices):
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    _button("review_more", review.more_button, _value(f=flow.flow_id, p=page + 1))
                ],
            }
        )
    return {"text": notes, "blocks": blocks}


def moved_on(
    code: str, title: str, outcome: str, stage: Stage | None, review: ReviewTexts
) -> Message:
    """The card once the report left this approver: what happened, where it is, no buttons."""
    if stage is not None and stage.operators:
        where = review.now_at.format(stage=escape(stage.name))
    else:
        where = review.now_done
    text = review.moved_on.format(
        code=escape(code), title=escape(title or "—"), outcome=outcome, where=where
    )
    return {
        "text": review.moved_on_fallback.format(code=code),
        "blocks": [section(text)],
    }


def reminder(action: str, review: ReviewTexts) -> Message:
    what = review.reminders.get(action, review.reminders["freeflow.remind"])
    return simple(review.reminder.format(what=what))


def submitter_notice(flow: Flow, paid: bool, review: ReviewTexts) -> Message:
    template = review.submitter_paid if paid else review.submitter_rejected
    text = template.format(code=escape(flow.code or flow.flow_id), title=escape(_title(flow)))
    if flow.last_comment:
        text += "\n" + review.comment.format(comment=escape(kit.clip(flow.last_comment, 500)))
    return simple(text)


def deep_link(url: str, flow: Flow, expires_s: int, review: ReviewTexts) -> Message:
    """The link itself goes only into this one private message."""
    text = review.deep_link.format(
        url=url.replace("|", "%7C").replace(">", "%3E"),
        code=escape(flow.code or flow.flow_id),
        expires=slack_date(expires_s),
    )
    return simple(text)


@dataclass(frozen=True)
class QueueItem:
    flow: Flow
    submitter: str


def _queue_blocks(items: Sequence[QueueItem], review: ReviewTexts, limit: int) -> list[Block]:
    blocks: list[Block] = []
    for n, item in enumerate(items[:limit]):
        flow = item.flow
        text = review.queue_item.format(
            code=escape(flow.code or flow.flow_id),
            title=escape(_title(flow)),
            submitter=escape(item.submitter),
            amount=_amount(flow),
            since=_when(flow.updated_ms or flow.submitted_ms),
        )
        block = section(text)
        block["accessory"] = _button(
            f"review_card_{n}", review.review_button, _value(f=flow.flow_id)
        )
        blocks.append(block)
    return blocks


def queue_message(total: int, items: Sequence[QueueItem], review: ReviewTexts) -> Message:
    if not items:
        return simple(review.queue_empty)
    title = review.queue_title.format(count=total)
    blocks = [section(title), *_queue_blocks(items, review, QUEUE_SHOWN)]
    if total > min(len(items), QUEUE_SHOWN):
        blocks.append(
            context(review.queue_more.format(shown=min(len(items), QUEUE_SHOWN), count=total))
        )
    return {"text": title, "blocks": blocks}


def home_view(
    total: int | None, items: Sequence[QueueItem], updated_s: int, review: ReviewTexts
) -> dict[str, object]:
    """The App Home tab; `total` None: the person is not Ekuaibao staff."""
    blocks: list[Block] = [kit.header(review.home_title)]
    if total is None:
        blocks.append(section(review.home_not_staff))
    elif not items:
        blocks.append(section(review.queue_empty))
    else:
        blocks.append(section(review.queue_title.format(count=total)))
        blocks.extend(_queue_blocks(items, review, HOME_SHOWN))
        if total > min(len(items), HOME_SHOWN):
            shown = min(len(items), HOME_SHOWN)
            blocks.append(context(review.queue_more.format(shown=shown, count=total)))
    blocks.append(context(review.home_updated.format(when=slack_date(updated_s))))
    return {"type": "home", "blocks": blocks}
