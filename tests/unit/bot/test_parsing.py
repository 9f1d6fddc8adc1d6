import pytest

from bot.parsing import Lookup, Malformed, ShowHelp, TooMany, parse_command, unescape_slack

SEED_IDS = (
    "djg8LshfUkfM00:033002100311:23272058",
    "Tdk3tgber501v0::23312000000123878916:2",
    "ID_3tlmF6$S1bg",
)


@pytest.mark.parametrize("text", [None, "", "   ", "help", "HELP", "帮助", "\n"])
def test_empty_or_help_shows_usage(text: str | None) -> None:
    assert parse_command(text) == ShowHelp()


@pytest.mark.parametrize(
    "text",
    [
        " ".join(SEED_IDS),
        ",".join(SEED_IDS),
        "\n".join(SEED_IDS),
        f"{SEED_IDS[0]}, {SEED_IDS[1]}\n\n{SEED_IDS[2]}",
        f"{SEED_IDS[0]}，{SEED_IDS[1]}、{SEED_IDS[2]}",
        f'`{SEED_IDS[0]}` "{SEED_IDS[1]}" ({SEED_IDS[2]}).',
    ],
)
def test_separators_and_wrapping(text: str) -> None:
    assert parse_command(text) == Lookup(SEED_IDS)


def test_duplicates_collapse_and_order_is_kept() -> None:
    text = f"{SEED_IDS[2]} {SEED_IDS[0]} {SEED_IDS[2]} {SEED_IDS[0]}"
    assert parse_command(text) == Lookup((SEED_IDS[2], SEED_IDS[0]))


def test_dollar_sign_is_kept_verbatim() -> None:
    assert parse_command("ID_3tlmF6$S1bg") == Lookup(("ID_3tlmF6$S1bg",))


def test_slack_escaping_is_undone_before_parsing() -> None:
    assert unescape_slack("a &amp;lt; b &lt;c&gt;") == "a &lt; b <c>"
    # `<ID…>` arrives as `&lt;ID…&gt;` and is plain wrapping once unescaped
    assert parse_command("&lt;ID01xO4jZjprrx&gt;") == Lookup(("ID01xO4jZjprrx",))


def test_twenty_ids_pass_twenty_one_do_not() -> None:
    twenty = " ".join(f"ID{i:04d}" for i in range(20))
    assert isinstance(parse_command(twenty), Lookup)
    assert parse_command(twenty + " ID9999") == TooMany(21)


def test_duplicates_do_not_count_towards_the_limit() -> None:
    text = " ".join(["ID0001"] * 30)
    assert parse_command(text) == Lookup(("ID0001",))


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("abc!def", ("abc!def",)),
        ("ID01xO4jZjprrx 发票", ("发票",)),
        ("ID01 ID02 a/b", ("a/b",)),
        ("x" * 101, ("x" * 101,)),
        ("&amp;", ("&",)),
    ],
)
def test_malformed_tokens_reject_the_whole_request(text: str, bad: tuple[str, ...]) -> None:
    assert parse_command(text) == Malformed(bad)
