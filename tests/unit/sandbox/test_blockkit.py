"""Block Kit limits: what real Slack would refuse with a bare ``invalid_blocks``."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.blockkit import validate_message


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text)}


def button(action_id: str, **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": plain("Open"), "action_id": action_id, **extra}


def msg(*blocks: dict[str, Any], text: str = "fallback") -> dict[str, Any]:
    return {"text": text, "blocks": list(blocks)}


def test_a_rich_valid_message() -> None:
    message = msg(
        {"type": "header", "text": plain("h" * 150)},
        {"type": "section", "text": mrkdwn("x" * 3000), "block_id": "b" * 255},
        {
            "type": "section",
            "fields": [mrkdwn("f" * 2000) for _ in range(10)],
            "accessory": button("a" * 255, url="https://e.x/" + "u" * 2980, value="v" * 2000),
        },
        {"type": "divider"},
        {
            "type": "context",
            "elements": [mrkdwn("c")] * 9
            + [{"type": "image", "image_url": "https://e.x/i.png", "alt_text": "i"}],
        },
        {"type": "actions", "elements": [button(f"act-{i}", style="primary") for i in range(25)]},
        {"type": "image", "image_url": "https://e.x/i.png", "alt_text": "alt", "title": plain("t")},
        {"type": "rich_text", "elements": []},
        {"type": "markdown", "text": "**md**"},
        text="t" * 40_000,
    )
    assert validate_message(message) == []


def test_text_only_and_blocks_only_are_fine() -> None:
    assert validate_message({"text": "hi"}) == []
    assert validate_message({"blocks": [section("hi")]}) == []
    assert validate_message({"blocks": [{"type": "divider"}], "response_type": "ephemeral"}) == []


def test_pointer_format_matches_the_brief() -> None:
    blocks = [{"type": "divider"}] * 3 + [section("x" * 3012)]
    assert validate_message(msg(*blocks)) == ["/blocks/3/text/text: 3012 chars > 3000"]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({}, "/: message has neither text nor blocks"),
        ({"text": "", "blocks": []}, "/: message has neither text nor blocks"),
        ({"text": "t" * 40_001}, "/text: 40001 chars > 40000"),
        (msg(*[{"type": "divider"}] * 51), "/blocks: 51 blocks > 50"),
        (msg({"type": "table"}), "/blocks/0/type: unknown block type 'table'"),
        (msg({"type": "section"}), "/blocks/0: section needs text or fields"),
        (msg(section("")), "/blocks/0/text/text: 0 chars < 1"),
        (
            msg({"type": "section", "text": {"type": "markdown", "text": "x"}}),
            "/blocks/0/text/type: must be mrkdwn or plain_text, got 'markdown'",
        ),
        (
            msg({"type": "section", "text": {**mrkdwn("x"), "emoji": True}}),
            "/blocks/0/text/emoji: only allowed on plain_text",
        ),
        (
            msg({"type": "section", "fields": [mrkdwn("f")] * 11}),
            "/blocks/0/fields: 11 elements > 10",
        ),
        (
            msg({"type": "section", "fields": [mrkdwn("f"), mrkdwn("f" * 2001)]}),
            "/blocks/0/fields/1/text: 2001 chars > 2000",
        ),
        (
            msg({"type": "section", "text": mrkdwn("x"), "accessory": [button("a"), button("b")]}),
            "/blocks/0/accessory: at most one accessory (got a list)",
        ),
        (msg({"type": "header", "text": plain("h" * 151)}), "/blocks/0/text/text: 151 chars > 150"),
        (
            msg({"type": "header", "text": mrkdwn("h")}),
            "/blocks/0/text/type: must be plain_text, got 'mrkdwn'",
        ),
        (
            msg({"type": "context", "elements": [mrkdwn("c")] * 11}),
            "/blocks/0/elements: 11 elements > 10",
        ),
        (
            msg({"type": "actions", "elements": [button(f"a{i}") for i in range(26)]}),
            "/blocks/0/elements: 26 elements > 25",
        ),
        (
            msg({"type": "actions", "elements": [{**button("a"), "text": plain("b" * 76)}]}),
            "/blocks/0/elements/0/text/text: 76 chars > 75",
        ),
        (
            msg({"type": "actions", "elements": [{**button("a"), "text": mrkdwn("b")}]}),
            "/blocks/0/elements/0/text/type: must be plain_text, got 'mrkdwn'",
        ),
        (
            msg({"type": "actions", "elements": [button("a", url="u" * 3001)]}),
            "/blocks/0/elements/0/url: 3001 chars > 3000",
        ),
        (
            msg({"type": "actions", "elements": [button("a", value="v" * 2001)]}),
            "/blocks/0/elements/0/value: 2001 chars > 2000",
        ),
        (
            msg({"type": "actions", "elements": [button("a" * 256)]}),
            "/blocks/0/elements/0/action_id: 256 chars > 255",
        ),
        (
            msg({"type": "actions", "elements": [button("a", style="green")]}),
            "/blocks/0/elements/0/style: must be primary or danger, got 'green'",
        ),
        (
            msg({**section("x"), "block_id": "b" * 256}),
            "/blocks/0/block_id: 256 chars > 255",
        ),
        (
            msg({"type": "image", "image_url": "https://e.x/i.png"}),
            "/blocks/0/alt_text: expected a string, got null",
        ),
        (
            msg({"type": "markdown", "text": "m" * 7000}, {"type": "markdown", "text": "m" * 5001}),
            "/blocks/1/text: markdown blocks total 12001 chars > 12000",
        ),
        ({"text": "t", "blocks": "[]"}, "/blocks: expected a list, got str"),
        (msg("not a block"), "/blocks/0: expected a block object, got str"),  # type: ignore[arg-type]
    ],
)
def test_each_limit(message: dict[str, Any], expected: str) -> None:
    assert validate_message(message) == [expected]


def test_ids_must_be_unique_across_the_message() -> None:
    message = msg(
        {**section("a"), "block_id": "dup", "accessory": button("act")},
        {"type": "actions", "block_id": "dup", "elements": [button("act")]},
    )
    assert validate_message(message) == [
        "/blocks/1/block_id: duplicate 'dup'",
        "/blocks/1/elements/0/action_id: duplicate 'act'",
    ]


def test_reports_every_problem_not_just_the_first() -> None:
    message = msg(section("x" * 3001), {"type": "header", "text": plain("h" * 200)}, text="")
    errors = validate_message(message)
    assert errors == [
        "/blocks/0/text/text: 3001 chars > 3000",
        "/blocks/1/text/text: 200 chars > 150",
    ]


def test_slack_sdk_gives_a_second_opinion_on_what_our_checks_let_through() -> None:
    """A key Slack's models do not know (a typo) would be dropped or refused by Slack."""
    typo = {"type": "actions", "elements": [{**button("a"), "urll": "https://x.invalid/"}]}
    [problem] = validate_message(msg(typo))
    assert problem.startswith("/blocks/0: slack_sdk does not keep it as sent")
    no_image = {"type": "image", "alt_text": "a"}
    assert any("slack_sdk" in p or "image_url" in p for p in validate_message(msg(no_image)))
