"""A rendered file into Slack: each page uploaded privately with the external upload, then
shown with `image` blocks (`slack_file`) in the person's DM with the bot, or in the review
card's thread when the click came from a card. Each upload is remembered at once, so the
sweep deletes it on time even when the post after it fails."""

from __future__ import annotations

import logging
from typing import Any, Literal

from slack_sdk.errors import SlackApiError

from tasks.contracts import PreviewRequest
from tasks.ekuaibao.models import Attachment
from tasks.files import Rendered
from tasks.preview.deps import PreviewDeps
from tasks.shared.blocks import Block, context, neutral, plain, plain_text, section, slack_date
from tasks.shared.preview_texts import PreviewTexts

log = logging.getLogger(__name__)
#: Slack may still be processing a file it has just taken; a post naming it is refused
#: until then. Tries, and the pause between them.
POST_TRIES = 3
POST_PAUSE_S = 1.0

Where = Literal["dm", "thread"]


def post_pages(
    deps: PreviewDeps,
    request: PreviewRequest,
    link: Attachment,
    rendered: Rendered,
    words: PreviewTexts,
) -> Where | None:
    """Where the pages went, or None when Slack would not take them."""
    delete_at = deps.clock() + deps.keep_s
    try:
        file_ids = [
            _upload(deps, page, f"preview-{n}.png", f"{link.file_name} · {n}", delete_at)
            for n, page in enumerate(rendered.pages, start=1)
        ]
        if request.card_ts:
            channel, thread = request.channel_id, request.card_ts
        else:
            channel, thread = _dm(deps, request.user_id), None
        message = _message(link, rendered, file_ids, words, int(delete_at))
        _post(deps, channel, thread, message)
    except (SlackApiError, OSError, KeyError, IndexError, TypeError) as exc:
        log.error("preview %s: Slack refused it (%s)", request.request_id, _code(exc))
        return None
    return "thread" if request.card_ts else "dm"


def _upload(deps: PreviewDeps, png: bytes, filename: str, title: str, delete_at: float) -> str:
    answer = deps.slack.files_upload_v2(
        file=png, filename=filename, title=title, request_file_info=False
    )
    file_id = str(answer["files"][0]["id"])
    deps.uploaded.remember(file_id, delete_at, deps.keep_s)
    return file_id


def _dm(deps: PreviewDeps, user_id: str) -> str:
    opened = deps.slack.conversations_open(users=user_id)
    return str(opened["channel"]["id"])


def _message(
    link: Attachment, rendered: Rendered, file_ids: list[str], words: PreviewTexts, deletes: int
) -> dict[str, Any]:
    name = neutral(link.file_name, 200)
    caption = words.caption.format(
        name=name,
        first=1,
        last=len(file_ids),
        pages=rendered.page_count,
        deletes=slack_date(deletes),
    )
    blocks: list[Block] = [section(caption)]
    alt = plain(link.file_name, 200) or "—"
    for n, file_id in enumerate(file_ids, start=1):
        blocks.append(
            {
                "type": "image",
                "slack_file": {"id": file_id},
                "alt_text": f"{alt} · {n}",
                "title": plain_text(f"{plain(link.file_name, 150)} · {n}/{rendered.page_count}"),
            }
        )
    if rendered.page_count > len(file_ids):
        blocks.append(context(words.more_pages.format(shown=len(file_ids))))
    return {"text": caption, "blocks": blocks}


def _post(deps: PreviewDeps, channel: str, thread: str | None, message: dict[str, Any]) -> None:
    for attempt in range(POST_TRIES):
        try:
            deps.slack.chat_postMessage(
                channel=channel,
                thread_ts=thread,
                text=message["text"],
                blocks=message["blocks"],
                unfurl_links=False,
                unfurl_media=False,
            )
            return
        except SlackApiError as exc:
            if exc.response.get("error") != "invalid_blocks" or attempt + 1 == POST_TRIES:
                raise
            deps.sleep(POST_PAUSE_S)


def _code(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "error"))
    return type(exc).__name__
