"""Previews over real HTTP (PREVIEWS=all): a click on Preview, under a reply or on a review
card, is answered once, privately, saying where the preview went; the page is rendered by a
worker in a limited child process, uploaded to the stand-in Slack and shown with a
`slack_file` image; it is deleted when PREVIEW_KEEP_HOURS is up. A hostile file costs that
one preview, with a clear message and the file's fresh link."""

from __future__ import annotations

import io
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from sandbox.ekuaibao import APPROVER_EMAIL, APPROVER_ID, REPORT_ID, EkuaibaoStandIn
from sandbox.ekuaibao_approver import approval_event
from sandbox.signing import block_action
from sandbox.slack import SlackStandIn
from tasks.contracts import PreviewButton
from tests.integration.conftest import broker_for
from tests.integration.harness import RunningBot, start_bot, wait_for

TOKEN = secrets.token_urlsafe(24)
PDF_INVOICE = "djg8LshfUkfM00:033002100311:23272058"
XML_INVOICE = "Tdk3tgber501v0::23312000000123878916:2"
OFD_INVOICE = "Tdk3tgber501v0::24442000000074288816"
APPROVER_SLACK, APPROVER_DM = "U0APPROVER", "D0APPROVER"
FILES = Path(__file__).resolve().parents[2] / "sandbox" / "data" / "files"
#: 0.001 h: a preview is deleted about four seconds after it was made.
KEEP_HOURS = "0.001"


@pytest.fixture(scope="module")
def bot(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningBot]:
    slack.add_user(APPROVER_SLACK, APPROVER_EMAIL)
    running = start_bot(
        ekuaibao,
        slack,
        tmp_path_factory.mktemp("previews"),
        broker=None,
        PREVIEWS="all",
        PREVIEW_KEEP_HOURS=KEEP_HOURS,
        EKUAIBAO_EVENTS_TOKEN=TOKEN,
        BOT_LANGUAGE="en",
    )
    running.extra_secrets.append(TOKEN)
    yield running
    running.stop()


def preview_buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for block in message.get("blocks") or []:
        for element in [*(block.get("elements") or []), block.get("accessory") or {}]:
            if str(element.get("action_id", "")).startswith("preview_file_"):
                found.append(element)
    return found


def new_ts() -> str:
    """Each click on another reply: two clicks on one message within seconds are one."""
    return f"{time.time():.6f}"


def click(
    bot: RunningBot, button: dict[str, Any], *, user: str, channel: str, ts: str = ""
) -> dict[str, Any]:
    """Click, and return the click's one reply (its response_url's only post)."""
    ts = ts or new_ts()
    url = bot.slack.new_response_url()
    body, headers = block_action(
        bot.secret,
        button["action_id"],
        button["value"],
        url,
        user=user,
        channel=channel,
        message_ts=ts,
    )
    assert httpx.post(bot.events_url, content=body, headers=headers, timeout=10).status_code == 200
    [post] = bot.slack.wait_for_posts(url, 1, timeout=30)
    assert post.status == 200, post
    return post.body


def reply_text(body: dict[str, Any]) -> str:
    return json.dumps(body.get("blocks") or body.get("text"), ensure_ascii=False)


def lookup_button(bot: RunningBot, invoice_id: str) -> dict[str, Any]:
    [reply] = bot.reply(bot.command(invoice_id))
    [button] = preview_buttons(reply.body)
    return button


def test_a_pdf_preview_reaches_the_dm_and_is_deleted_on_time(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    button = lookup_button(bot, PDF_INVOICE)
    before_files, before_calls = len(slack.files), len(ekuaibao.calls)
    reply = click(bot, button, user="U0SANDBOX", channel="C0SANDBOX", ts=new_ts())
    # one Ekuaibao call for the fresh link (the file itself comes from the file store)
    api = [c.path for c in ekuaibao.calls[before_calls:] if c.path.startswith("/api/")]
    assert [p for p in api if "auth" not in p] == ["/api/openapi/v2/extension/INVOICE/url"]
    assert "The preview of *发票-23272058.pdf* is in your DM with me." in reply_text(reply)
    [uploaded] = slack.files[before_files:]
    assert uploaded.complete and not uploaded.shares  # private: shown only by the message
    picture = Image.open(io.BytesIO(uploaded.content or b""))
    assert picture.format == "PNG" and max(picture.size) >= 1000
    message = wait_for(
        lambda: [m for m in slack.messages_in(_dm_of(slack)) if _shows(m, uploaded.id)],
        what="the preview message",
    )[0]
    caption = message["blocks"][0]["text"]["text"]
    assert "page 1–1 of 1" in caption and "I delete it <!date^" in caption
    gone = wait_for(lambda: (f := slack.file(uploaded.id)) and f.deleted and f, what="deletion")
    assert gone.deleted


def _dm_of(slack: SlackStandIn, user: str = "U0SANDBOX") -> str:
    """The stand-in's DM with a user, as conversations.open names it."""
    return "D" + user[1:]


def _shows(message: dict[str, Any], file_id: str) -> bool:
    return any(
        (b.get("slack_file") or {}).get("id") == file_id for b in message.get("blocks") or []
    )


def test_another_persons_preview_button_is_refused(bot: RunningBot, slack: SlackStandIn) -> None:
    button = lookup_button(bot, PDF_INVOICE)
    before = len(slack.files)
    reply = click(bot, button, user="U0SOMEONE", channel="C0SANDBOX", ts=new_ts())
    assert "Only the person who asked can preview these files" in reply_text(reply)
    assert len(slack.files) == before  # nothing was rendered or uploaded


@pytest.mark.parametrize(
    ("sample", "said"),
    [
        ("wide-page.pdf", "has a page too large to show as a picture"),
        ("truncated.pdf", "could not be read: it may be damaged"),
        ("cpu-bomb.pdf", "took too long to render"),
        ("invoice.xml", "could not be read"),  # not a PDF at all, whatever its name says
        (None, "is too large to preview"),  # 50 MB
    ],
)
def test_a_hostile_file_costs_that_preview_only(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, sample: str | None, said: str
) -> None:
    name = "发票-23272058.pdf"
    content = (FILES / sample).read_bytes() if sample else b"%PDF-1.4\n" + b"0" * (50 << 20)
    ekuaibao.world.file_bytes[name] = content
    before = len(slack.files)
    try:
        reply = click(
            bot,
            lookup_button(bot, PDF_INVOICE),
            user="U0SANDBOX",
            channel="C0SANDBOX",
            ts=new_ts(),
        )
    finally:
        del ekuaibao.world.file_bytes[name]
    text = reply_text(reply)
    assert said in text and "Open it with the button below" in text
    [open_button] = [
        e for b in reply["blocks"] for e in b.get("elements", []) if e.get("type") == "button"
    ]
    assert open_button["url"] in ekuaibao.signed_urls_served()  # the fresh link, kept
    assert len(slack.files) == before
    # the worker is unhurt: the next preview of a sound file is made
    again = click(
        bot,
        lookup_button(bot, PDF_INVOICE),
        user="U0SANDBOX",
        channel="C0SANDBOX",
        ts=new_ts(),
    )
    assert "is in your DM with me" in reply_text(again)


def test_an_xml_file_shows_its_fields_beside_ekuaibaos(
    bot: RunningBot, slack: SlackStandIn
) -> None:
    before = len(slack.files)
    reply = click(
        bot,
        lookup_button(bot, XML_INVOICE),
        user="U0SANDBOX",
        channel="C0SANDBOX",
        ts=new_ts(),
    )
    text = reply_text(reply)
    assert "What *" in text and "Number (发票号码): 24442000000074288816" in text
    assert "Total incl. tax (价税合计): ¥171.00" in text
    assert "Ekuaibao has no record of this invoice's fields" in text  # the stand-in has none
    assert len(slack.files) == before  # read, not uploaded: nothing stays in Slack


def test_a_preview_from_a_review_card_goes_into_its_thread(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, slack: SlackStandIn
) -> None:
    started = len(slack.messages_in(APPROVER_DM))
    payload = approval_event(ekuaibao.world, "backlog.approving", REPORT_ID, APPROVER_ID)
    delivery = ekuaibao.approver.send(
        f"http://127.0.0.1:{bot.port}/ekuaibao/events/{TOKEN}", payload
    )
    assert delivery.status == 204
    card = wait_for(lambda: slack.messages_in(APPROVER_DM)[started:], what="the card")[0]
    buttons = preview_buttons(card)
    assert buttons and all(PreviewButton.decode(b["value"]).on_card for b in buttons)  # type: ignore[union-attr]
    before = len(slack.files)
    reply = click(bot, buttons[0], user=APPROVER_SLACK, channel=APPROVER_DM, ts=card["ts"])
    assert "is in the review card's thread" in reply_text(reply)
    [uploaded] = slack.files[before:]
    in_thread = wait_for(
        lambda: [
            m
            for m in slack.messages_in(APPROVER_DM)
            if m.get("thread_ts") == card["ts"] and _shows(m, uploaded.id)
        ],
        what="the preview in the card's thread",
    )
    assert in_thread


def test_a_preview_on_redis_with_green_threads(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The gevent pool (the default on Redis) renders in the same confined child."""
    running = start_bot(
        ekuaibao,
        slack,
        tmp_path_factory.mktemp("previews-redis"),
        broker=broker_for("redis"),
        PREVIEWS="all",
        BOT_LANGUAGE="en",
    )
    try:
        assert "(gevent)" in wait_for(lambda: "gevent" in running.log() and running.log())
        before = len(slack.files)
        reply = click(
            running, lookup_button(running, PDF_INVOICE), user="U0SANDBOX", channel="C0SANDBOX"
        )
        assert "is in your DM with me" in reply_text(reply)
        [uploaded] = slack.files[before:]
        assert uploaded.complete and (uploaded.content or b"").startswith(b"\x89PNG")
    finally:
        running.stop()


@pytest.mark.parametrize(
    ("invoice_id", "sample", "said"),
    [
        (OFD_INVOICE, "bomb.ofd", "is too large to preview"),
        (XML_INVOICE, "xxe.xml", "is a kind of file I cannot preview"),
        (XML_INVOICE, "billion-laughs.xml", "is a kind of file I cannot preview"),
    ],
)
def test_a_hostile_data_file_costs_that_preview_only(
    bot: RunningBot,
    ekuaibao: EkuaibaoStandIn,
    invoice_id: str,
    sample: str,
    said: str,
) -> None:
    attachment = ekuaibao.world.invoices[invoice_id].attachment
    assert attachment is not None
    ekuaibao.world.file_bytes[attachment.file_name] = (FILES / sample).read_bytes()
    try:
        reply = click(bot, lookup_button(bot, invoice_id), user="U0SANDBOX", channel="C0SANDBOX")
    finally:
        del ekuaibao.world.file_bytes[attachment.file_name]
    text = reply_text(reply)
    assert said in text and "Open it with the button below" in text
    assert "root:" not in text  # no external entity was read
