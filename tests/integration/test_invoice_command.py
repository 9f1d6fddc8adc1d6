"""`/invoice` end to end: signed HTTP into the real bot, a real worker, loopback stand-ins.

Every test runs twice: on the embedded broker and on Redis.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from pathlib import Path

import httpx
import pytest

from sandbox.blockkit import validate_message
from sandbox.ekuaibao import DEMO_INVOICE_IDS, SPECIAL_FILE_NAME, EkuaibaoStandIn
from sandbox.slack import SlackStandIn
from tests.integration.conftest import on_each_broker
from tests.integration.harness import RunningBot, start_bot

DISCOUNT = "djg8LshfUkfM00:033002100311:23272058"
PHONE = "djg8LshfUkfM00:044031900111:69872971"
MEAL = "0aM9AbvdhI0400:011001900111:07517347"
UNKNOWN = "djg8LshfUkfM00:044031900111:00000000"


def blocks_text(body: dict) -> str:
    return json.dumps(body.get("blocks", []), ensure_ascii=False)


def buttons(body: dict) -> list[dict]:
    return [b["accessory"] for b in body.get("blocks", []) if "accessory" in b]


@on_each_broker
def test_lookup_replies_privately_with_lines_totals_links_and_expiry(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn
) -> None:
    served_before = len(ekuaibao.signed_urls_served())
    command = bot.command(" ".join(DEMO_INVOICE_IDS))
    assert command.ack.status_code == 200
    assert command.ack_ms < 3000
    ack = command.ack.json()
    assert ack["text"] == ":mag: Looking up 6 invoices…"
    assert ack.get("response_type") == "ephemeral"

    [post] = bot.reply(command)
    body = post.body
    assert post.status == 200 and validate_message(body) == []
    assert body["response_type"] == "ephemeral" and body["replace_original"] is True
    fallback = body["text"].splitlines()  # what a notification shows: ids, totals, next step
    assert fallback[0] == "Invoice lookup: 5 found, 1 not found."
    assert "djg8LshfUkfM00:033002100311:23272058: ¥263.00" in fallback
    text = blocks_text(body)
    # line items: amount, rate, tax, then only the fields present; negatives stay negative
    assert "343.36 · 13% · 44.64 · Spec/model 42 · Qty 1 · Unit price 343.36" in text
    assert "(discount)\\n      -110.62 · 13% · -14.38" in text
    assert "*移动通信设备*荣耀30 Pro+ 8GB+256GB 幻夜黑" in text
    # totals to the cent, thousands separated
    for total in (
        "¥232.74",
        "¥30.26",
        "¥263.00",
        "¥4,423.89",
        "¥575.11",
        "¥4,999.00",
        "¥438.83",
        "¥13.17",
        "¥452.00",
    ):
        assert total in text
    # readable headers
    assert "Invoice 033002100311 · No. 23272058" in text
    assert "Fully digital invoice No. 23312000000123878916" in text
    # a ticket without lines still shows its attachment; a fully digital invoice without
    # lines is called an invoice, not a ticket
    assert text.count("No line items: this is a ticket") == 1
    assert text.count("Ekuaibao has no line items for this invoice") == 1
    # links byte for byte, freshly signed for this lookup, still downloadable
    served = ekuaibao.signed_urls_served()[served_before:]
    urls = [b["url"] for b in buttons(body)]
    assert len(urls) == 5 and set(urls) <= set(served)
    for url in urls:
        assert httpx.get(url, timeout=5).status_code == 200
        expires = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["Expires"][0]
        assert f"<!date^{expires}^{{date_short_pretty}} {{time}}|" in text
    assert "signs attachment links for one hour" in text
    # the photo's thumbnail, from the link Ekuaibao just signed (PREVIEWS=images by default)
    [picture] = [b for b in body["blocks"] if b["type"] == "image"]
    assert picture["image_url"] in served and picture["alt_text"].endswith(".png")
    # the unknown id, with what to check
    assert f"`{UNKNOWN}`" in text and "typos" in text


def test_ids_with_dollar_and_colons_reach_ekuaibao_verbatim(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn
) -> None:
    before = len(ekuaibao.calls_to("INVOICE/url"))
    weird = ["Tdk3tgber501v0::23312000000123878916:2", "ID_3tlmF6$S1bg", PHONE]
    command = bot.command(
        "&lt;" + weird[0] + "&gt;, " + weird[1] + "\n" + weird[2] + " " + weird[1]
    )
    bot.reply(command)
    calls = ekuaibao.calls_to("INVOICE/url")[before:]  # every id asks for its links
    assert calls and calls[-1].body == {"invoiceId": weird}
    lines = ekuaibao.calls_to("detailBatch")[-1]  # only VAT-shaped ids have line items
    assert lines.body == {"invoiceIds": [weird[0], PHONE]}


def test_file_names_from_ekuaibao_are_escaped(bot: RunningBot, ekuaibao: EkuaibaoStandIn) -> None:
    [invoice_id] = [
        i
        for i, inv in ekuaibao.world.invoices.items()
        if inv.attachment and inv.attachment.file_name == SPECIAL_FILE_NAME
    ]
    [post] = bot.reply(bot.command(invoice_id))
    text = blocks_text(post.body)
    escaped = SPECIAL_FILE_NAME.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert escaped in text and SPECIAL_FILE_NAME not in text


@pytest.mark.parametrize("text", ["", "help", "  "])
def test_help_is_shown_and_nothing_is_queued(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn, text: str
) -> None:
    before = len(ekuaibao.calls)
    command = bot.command(text)
    assert command.ack.status_code == 200
    assert "/invoice &lt;id&gt;" in command.ack.json()["text"]
    assert len(ekuaibao.calls) == before
    assert bot.slack.posts_for(command.response_url) == []


def test_too_many_ids_are_refused_before_ekuaibao(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn
) -> None:
    before = len(ekuaibao.calls)
    command = bot.command(" ".join(f"ID{i:05d}" for i in range(21)))
    assert "at most 20" in command.ack.json()["text"]
    assert len(ekuaibao.calls) == before


def test_malformed_ids_are_refused_with_what_to_fix(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn
) -> None:
    before = len(ekuaibao.calls)
    command = bot.command(f"{DISCOUNT} not/an-id")
    text = command.ack.json()["text"]
    assert "`not/an-id`" in text and "didn't look anything up" in text
    assert len(ekuaibao.calls) == before


def test_forged_or_stale_signatures_are_rejected(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn
) -> None:
    before = len(ekuaibao.calls)
    forged = bot.command(DISCOUNT, secret="not-the-signing-secret")
    stale = bot.command(DISCOUNT, timestamp=1_600_000_000)
    assert forged.ack.status_code == 401 and stale.ack.status_code == 401
    assert len(ekuaibao.calls) == before
    assert bot.slack.posts_for(forged.response_url) == [] == bot.slack.posts_for(stale.response_url)


@on_each_broker  # with a Redis broker, the token is kept in Redis
def test_an_expired_token_is_renewed_once(bot: RunningBot, ekuaibao: EkuaibaoStandIn) -> None:
    bot.reply(bot.command(DISCOUNT))
    issued = ekuaibao.tokens_issued
    ekuaibao.expire_tokens()
    [post] = bot.reply(bot.command(DISCOUNT))
    assert "¥263.00" in blocks_text(post.body)
    assert ekuaibao.tokens_issued == issued + 1


@on_each_broker
def test_an_ekuaibao_5xx_is_repeated_at_once_and_answered(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn
) -> None:
    bot.reply(bot.command(MEAL))  # token cached, so the failures hit the lookup's calls
    before = len(ekuaibao.calls)
    ekuaibao.fail_next(2, status=502)
    command = bot.command(MEAL)
    [post] = bot.reply(command)
    assert "¥452.00" in blocks_text(post.body)  # no "keep trying": the calls were repeated
    statuses = [c.status for c in ekuaibao.calls[before:]]
    assert statuses.count(502) == 2 and statuses.count(200) == 3
    threading.Event().wait(1.0)
    assert len(bot.slack.posts_for(command.response_url)) == 1


@on_each_broker
def test_an_ekuaibao_429_slows_every_worker_down_and_is_waited_out(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn
) -> None:
    bot.reply(bot.command(MEAL))
    ekuaibao.fail_next(1, status=429)
    command = bot.command(MEAL)
    [post] = bot.reply(command)
    assert "¥452.00" in blocks_text(post.body)
    assert "Ekuaibao answered 429: shared rate lowered" in bot.log()


def test_ekuaibao_failing_every_repeat_retries_the_lookup_then_answers(
    ekuaibao: EkuaibaoStandIn, slack: SlackStandIn, tmp_path: Path
) -> None:
    # The lookup's own window (60 s) outlasts a call's repeats (6 s), so the lookup has time
    # to try again; the failures end on the state that should end them (the note is out),
    # not after a count of calls that depends on how fast the machine is.
    bot = start_bot(ekuaibao, slack, tmp_path, broker=None, EKUAIBAO_RETRY_WINDOW_S="60")
    try:
        bot.reply(bot.command(MEAL))
        ekuaibao.fail_next(10_000, status=502)  # every try of every call, until reset
        command = bot.command(MEAL)
        [note] = bot.reply(command)
        assert "keep trying" in note.body["text"]
        ekuaibao.reset_faults()
        posts = bot.reply(command, n=2)
        assert "¥452.00" in blocks_text(posts[1].body)
        assert posts[1].body["replace_original"] is True
        assert len(slack.posts_for(command.response_url)) == 2
    finally:
        bot.stop()


@on_each_broker
def test_a_slow_ekuaibao_times_out_and_is_retried(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn
) -> None:
    bot.reply(bot.command(MEAL))  # token cached, so the stall hits an API call
    ekuaibao.stall_next(1, 3.0)
    command = bot.command(MEAL)
    [post] = bot.reply(command)  # the timed-out call alone is repeated: one answer
    assert "¥452.00" in blocks_text(post.body)
    threading.Event().wait(1.0)
    assert len(bot.slack.posts_for(command.response_url)) == 1


@on_each_broker
def test_a_failing_ekuaibao_ends_in_one_clear_error(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn
) -> None:
    ekuaibao.fail_next(10_000, status=503)
    command = bot.command(PHONE)
    posts = bot.reply(command, n=2, timeout=40)
    final = posts[-1].body["text"]
    assert "didn't answer properly" in final and "try again later" in final
    said = re.sub(r"\(ref `[0-9a-f]+`\)", "", final)  # a random ref may hold "503"
    assert "Traceback" not in said and "503" not in said
    ekuaibao.reset_faults()
    threading.Event().wait(1.0)
    assert len(bot.slack.posts_for(command.response_url)) == 2


def test_rejected_credentials_tell_the_user_to_ask_the_admin(
    bot: RunningBot, ekuaibao: EkuaibaoStandIn
) -> None:
    ekuaibao.expire_tokens()
    ekuaibao.reject_credentials()
    [post] = bot.reply(bot.command(DISCOUNT))
    assert "The bot's Ekuaibao credentials were rejected — ask your admin" in post.body["text"]
    assert "Ekuaibao rejected the bot's credentials" in bot.log()


@on_each_broker
def test_concurrent_commands_each_get_exactly_one_reply(bot: RunningBot) -> None:
    commands = []
    lock = threading.Lock()

    def send(i: int) -> None:
        command = bot.command(f"{DISCOUNT} {PHONE}" if i % 2 else MEAL)
        with lock:
            commands.append(command)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(c.ack.status_code == 200 and c.ack_ms < 3000 for c in commands)
    for command in commands:
        bot.reply(command)
    threading.Event().wait(1.0)
    assert all(len(bot.slack.posts_for(c.response_url)) == 1 for c in commands)


def test_health_probes_and_unknown_paths(bot: RunningBot) -> None:
    base = f"http://127.0.0.1:{bot.port}"
    assert httpx.get(f"{base}/livez").json() == {"ok": True}
    for path in ("/readyz", "/healthz"):
        answer = httpx.get(base + path)
        assert answer.status_code == 200 and answer.json() == {"ok": True, "broker": "reachable"}
    assert httpx.get(f"http://127.0.0.1:{bot.port}/nope").status_code == 404


@on_each_broker  # each broker client logs its own way
def test_no_secret_reaches_the_logs(bot: RunningBot, ekuaibao: EkuaibaoStandIn) -> None:
    command = bot.command(DISCOUNT)
    bot.reply(command)
    log = bot.log()
    secrets_seen = [
        bot.secret,
        "xoxb-sandbox-token",
        "sandbox-app-security",
        urllib.parse.urlsplit(command.response_url).path.rsplit("/", 1)[-1],
    ]
    secrets_seen += [
        re.search(r"Signature=([^&]+)", u).group(1) for u in ekuaibao.signed_urls_served()[-3:]
    ]
    for call in ekuaibao.calls[-5:]:
        if call.query.get("accessToken"):
            secrets_seen.append(call.query["accessToken"])
    for secret in secrets_seen:
        assert secret not in log


def test_link_button_clicks_are_acknowledged(bot: RunningBot) -> None:
    """URL buttons still send block_actions; an unacknowledged click shows a warning in Slack."""
    from sandbox.signing import interaction

    payload = {
        "type": "block_actions",
        "user": {"id": "U0SANDBOX"},
        "team": {"id": "T0SANDBOX"},
        "api_app_id": "A0SANDBOX",
        "container": {
            "type": "message",
            "message_ts": "1.2",
            "channel_id": "C0SANDBOX",
            "is_ephemeral": True,
        },
        "channel": {"id": "C0SANDBOX"},
        "response_url": bot.slack.new_response_url(),
        "trigger_id": "1.2.3",
        "actions": [
            {
                "action_id": "open_attachment_0",
                "block_id": "b",
                "type": "button",
                "action_ts": "1.3",
                "text": {"type": "plain_text", "text": "Open PDF"},
            }
        ],
    }
    body, headers = interaction(bot.secret, payload)
    response = httpx.post(bot.events_url, content=body, headers=headers, timeout=10)
    assert response.status_code == 200
    assert bot.slack.posts_for(payload["response_url"]) == []
