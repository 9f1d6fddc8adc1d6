"""Hostile text cannot stall the bot: both readers take linear time and read at most
MAX_TEXT_CHARS, and for ordinary text they answer exactly as the original patterns did.

They run before the bot acknowledges Slack and hold the GIL while they run, so one slow
parse delays every other command, click and event of the process.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.parsing import (
    MAX_TEXT_CHARS,
    Found,
    Lookup,
    Malformed,
    ShowHelp,
    capped,
    find_in_prose,
    parse_command,
)
from tasks.contracts import ID_PATTERN, MAX_IDS

#: The target for one 40,000-character message on a developer machine, times 3 for CI noise.
BUDGET_S = 0.050 * 3
#: On a machine so loaded that even a plain pass is slow, the budget grows with that pass.
FLOOR_FACTOR = 20
#: What makes a backtracking pattern slow: separators, keywords, markup left open, CJK.
PIECES = (
    *("report", "REPORT", "report:", "单据", "报销单", "ID", "B", "B1234567", "a", "aaaaaa"),
    *(" ", "  ", "\n", "\t", "\u3000", ":", "：", "#", "`", "::", "-", "$", "_", "1", "123456"),
    *("<", "<@", "<#", "<!", "<https:", "<mailto:", ">", "&lt;", "&gt;", "&amp;", "&lt;@"),
    *(",", "，", "、", ";", "；", ".", "。", "(", '"', "“", "中", "é", "\u200b"),
)
N = MAX_TEXT_CHARS


def filled(piece: str, length: int = N) -> str:
    return (piece * (length // len(piece) + 1))[:length]


#: Each of these took seconds with the original patterns (or list look-ups).
WORST_CASES = {
    "report then spaces": "report" + " " * (N - 6),
    "单据 then spaces": "单据" + " " * (N - 2),
    "report, spaces, a colon, spaces": "report" + " " * 20_000 + ":" + " " * (N - 20_007),
    "report repeated": filled("report "),
    "colons": filled(":"),
    "hashes": filled("#"),
    "backticks": filled("`"),
    "markup never closed": filled("<@"),
    "links never closed": filled("<https:"),
    "escaped markup never closed": filled("&lt;@"),
    "mixed scripts": filled("单据：报销单# report: 中"),
    "distinct ids": " ".join(f"ID{i:08d}" for i in range(N // 11)),
    "distinct report codes": " ".join(f"B{i:08d}" for i in range(N // 10)),
    "distinct bad tokens": " ".join(f"{i}!" for i in range(N // 7)),
    "one long word": filled("a"),
}


def linear_floor(text: str) -> float:
    """A plain linear pass over the text with a Python step per word, best of three."""
    return min(_seconds(lambda: sum(1 for _ in re.finditer(r"\S+", text))) for _ in range(3))


def _seconds(work: Callable[[], object]) -> float:
    """This thread's CPU seconds: preemption by the rest of a parallel suite is not counted."""
    started = time.thread_time()
    work()
    return time.thread_time() - started


def assert_fast(text: str) -> None:
    """Each reader within the budget (best of three runs, so a preempted run is not blamed)."""
    budget = max(BUDGET_S, FLOOR_FACTOR * linear_floor(text))
    for reader in (find_in_prose, parse_command):
        best = float("inf")
        for _ in range(3):
            best = min(best, _seconds(lambda: reader(text)))  # noqa: B023 (called at once)
            if best <= budget:
                break
        assert best <= budget, f"{reader.__name__}: {best * 1000:.0f} ms on {text[:40]!r}…"


@pytest.mark.parametrize("text", WORST_CASES.values(), ids=WORST_CASES.keys())
def test_worst_cases_are_read_within_the_budget(text: str) -> None:
    assert len(text) <= MAX_TEXT_CHARS
    assert_fast(text)


def _repeated(prefix: list[str], unit: list[str], length: int) -> str:
    return filled("".join(prefix) + "".join(unit) * (length // 2 + 1), length)


def _runs(runs: list[tuple[str, int]]) -> str:
    return filled("".join(piece * count for piece, count in runs))


piece = st.sampled_from(PIECES)
hostile_text = st.one_of(
    st.builds(
        _repeated,
        st.lists(piece, max_size=3),
        st.lists(piece, min_size=1, max_size=6),
        st.integers(MAX_TEXT_CHARS // 2, MAX_TEXT_CHARS),
    ),
    st.builds(
        _runs,
        st.lists(
            st.tuples(piece, st.sampled_from((1, 2, 10, 1_000, 20_000, N))),
            min_size=1,
            max_size=8,
        ),
    ),
)


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(text=hostile_text)
@example(text="report" + " " * (N - 6))
@example(text="<@ " * (N // 3))
def test_any_text_up_to_the_cap_is_read_within_the_budget(text: str) -> None:
    assert_fast(text)


# -- the cap ---------------------------------------------------------------------------------

TICKET = "ID01xO4jZjprrx"


def test_text_beyond_the_cap_is_not_read() -> None:
    assert find_in_prose(" " * N + TICKET) == Found((), ())
    assert parse_command(" " * N + TICKET) == ShowHelp()
    # what fits is read, however much follows
    tail = " ID_after_the_cap" + " report" + " " * N
    assert find_in_prose(" " * (N - len(TICKET)) + TICKET + tail) == Found((TICKET,), ())
    assert parse_command(" " * (N - len(TICKET)) + TICKET + tail) == Lookup((TICKET,))


def test_an_id_the_cap_splits_is_dropped_not_shortened() -> None:
    split = " " * (N - 10) + TICKET  # its first 10 characters still look like a ticket id
    assert find_in_prose(split) == Found((), ())
    assert parse_command(split) == ShowHelp()
    assert capped(split) == " " * (N - 10)


def test_a_text_without_a_break_is_cut_at_the_cap() -> None:
    word = "x" * (N + 5)
    assert capped(word) == "x" * N
    assert parse_command(word) == Malformed(("x" * N,))


@given(text=st.text(st.sampled_from("ab :<>\n中$-"), max_size=50), extra=st.integers(0, 40))
@settings(max_examples=100, deadline=None, derandomize=True, database=None)
def test_the_cap_keeps_a_prefix_no_longer_than_the_cap(text: str, extra: int) -> None:
    long_text = filled(text or "a", N + extra)
    kept = capped(long_text)
    assert len(kept) <= N and long_text.startswith(kept)
    assert capped(text) == text


# -- the same answers as the original, backtracking patterns ----------------------------------


def original_find_in_prose(text: str) -> Found:
    """find_in_prose as it was before the patterns were made linear (reference only)."""
    valid = re.compile(ID_PATTERN)
    raw = re.sub(r"<[@#!][^>]*>|<(?:https?|mailto):[^>]*>", " ", _unescape(text)).replace("`", " ")

    def usable(token: str) -> bool:
        return len(token) <= 100 and valid.fullmatch(token) is not None

    ids: list[str] = []
    prose_id = (
        r"(?<![\w:$-])([A-Za-z0-9_-]{6,}:\d{6,12}:\d{6,20}|[A-Za-z0-9_-]{6,}::\d{12,24}(?::\d{1,3})?"
        r"|ID[A-Za-z0-9_$]{8,40}|\d-[A-Za-z0-9]{10,20})(?![\w:$-])"
    )
    for match in re.finditer(prose_id, raw):
        if usable(match.group(1)) and match.group(1) not in ids:
            ids.append(match.group(1))
    reports: list[str] = []
    prose_report = (
        r"(?:(?:report|单据|报销单)\s*[:：#]?\s*([A-Za-z0-9_$-]{4,60}))"
        r"|(?<![\w-])([A-Z]{1,2}\d{8})(?![\w-])"
    )
    for match in re.finditer(prose_report, raw, re.IGNORECASE | re.ASCII):
        code = match.group(1) or match.group(2)
        if code and usable(code) and code not in reports and code not in ids:
            reports.append(code)
    return Found(tuple(ids[:MAX_IDS]), tuple(reports[:3]))


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


ordinary_text = st.one_of(
    st.lists(piece, max_size=40).map("".join),
    st.lists(st.sampled_from((*PIECES, "ID01xO4jZjprrx", "B23001249", "5-sbyDJSOI0800"))).map(
        " ".join
    ),
    st.text(max_size=200),
)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(text=ordinary_text)
@example(text="report :  B23001249 and <@U1 B23001250> <@U2 then ID01xO4jZjprrx >")
@example(text="单据：  #B23001249 报销单 :x1234 <https://e.x|B23001251")
def test_ordinary_text_finds_what_the_original_patterns_found(text: str) -> None:
    assert find_in_prose(text) == original_find_in_prose(text)
