"""The App Home tab: the reports waiting for the person, with their count, and the
person's recent lookups, each with "Look up again" (its answer goes to their DM with the
bot: Home has no response_url)."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from tasks.contracts import ButtonValue, ReviewAsk
from tasks.ekuaibao.approval_models import Staff
from tasks.review.deps import ReviewDeps
from tasks.review.queue.asks import asker_of, queue_items
from tasks.shared.blocks import Block, context, escape, section, slack_date
from tasks.shared.home_texts import HomeTexts, home_texts_for
from tasks.shared.review_texts import review_texts_for
from tasks.slack import review_card as card
from tasks.state.recent import RecentLookup

log = logging.getLogger(__name__)
#: Ids shown per recent lookup; the rest are counted.
IDS_SHOWN = 3


def publish_home(ask: ReviewAsk, deps: ReviewDeps) -> None:
    language = ask.language or deps.lookup.language.for_user(ask.user_id)
    staff = asker_of(deps, ask.user_id)
    total: int | None = None
    items: list[card.QueueItem] = []
    if isinstance(staff, Staff):
        total, flows = deps.api.pending(staff.staff_id)
        items = queue_items(deps, flows)
    view = card.home_view(total, items, int(deps.clock()), review_texts_for(language))
    blocks = view["blocks"]
    assert isinstance(blocks, list)
    blocks[-1:-1] = recent_blocks(deps, ask, home_texts_for(language))
    try:
        deps.slack.views_publish(user_id=ask.user_id, view=view)
    except SlackApiError as exc:
        log.warning(
            "could not publish the Home tab of %s: %s", ask.user_id, exc.response.get("error")
        )


def recent_blocks(deps: ReviewDeps, ask: ReviewAsk, texts: HomeTexts) -> list[Block]:
    """A state store that is away costs this part only; the queue is still shown."""
    recent: list[RecentLookup] = []
    if deps.lookup.recent is not None:
        try:
            recent = deps.lookup.recent.latest(ask.team_id, ask.user_id)
        except Exception as exc:
            log.warning("recent lookups of %s unavailable: %s", ask.user_id, type(exc).__name__)
    blocks: list[Block] = [{"type": "divider"}, section(texts.recent_title)]
    if not recent:
        blocks.append(context(texts.recent_empty))
    for n, entry in enumerate(recent):
        block = section(_line(entry, texts))
        value = ButtonValue(ids=entry.ids, report=entry.report, owner=ask.user_id)
        block["accessory"] = {
            "type": "button",
            "action_id": f"home_again_{n}",
            "text": {"type": "plain_text", "text": texts.again_button},
            "value": value.encode(),
        }
        blocks.append(block)
    return blocks


def _line(entry: RecentLookup, texts: HomeTexts) -> str:
    when = slack_date(int(entry.at))
    if entry.report:
        return texts.recent_report.format(
            what=f"`{escape(entry.report)}`", when=when, found=entry.found
        )
    shown = ", ".join(f"`{escape(i)}`" for i in entry.ids[:IDS_SHOWN])
    if len(entry.ids) > IDS_SHOWN:
        shown += " " + texts.more_ids.format(count=len(entry.ids) - IDS_SHOWN)
    return texts.recent_ids.format(what=shown, when=when, found=entry.found, asked=len(entry.ids))
