import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasks.contracts import DecisionRef

_ID = st.from_regex(r"[A-Za-z0-9_$:-]{1,80}", fullmatch=True)
_VERSION = st.from_regex(
    r"[0-9A-Za-z.+\-]{1,20}\|[0-9A-Za-z.+\-]{1,40}\|[0-9]{1,5}", fullmatch=True
)


@given(_ID, st.one_of(st.just(""), _ID), st.one_of(st.just(""), _VERSION))
def test_what_the_worker_writes_the_bot_reads_back(flow: str, node: str, version: str) -> None:
    ref = DecisionRef(flow, node, version)
    assert DecisionRef.decode(ref.encode()) == ref


def test_the_button_and_the_modal_carry_only_short_json() -> None:
    assert DecisionRef("F1", "N1").encode() == '{"f":"F1","n":"N1"}'
    assert DecisionRef("F1", "N1", "1|2.00|3").encode() == '{"f":"F1","n":"N1","v":"1|2.00|3"}'
    longest = DecisionRef("F" * 80, "N" * 80, "a" * 20 + "|" + "b" * 40 + "|" + "9" * 5)
    assert len(longest.encode()) < 400


@pytest.mark.parametrize(
    "raw",
    [
        None,
        5,
        "",
        "not json",
        "[1, 2]",
        json.dumps({"n": "N1"}),  # no report
        json.dumps({"f": "F1/../x", "n": "N1"}),  # a path in an id
        json.dumps({"f": "F1", "n": "N 1"}),
        json.dumps({"f": "F" * 81}),
        json.dumps({"f": "F1", "v": "1|2"}),  # not a version
        json.dumps({"f": "F1", "n": "N1", "pad": "x" * 400}),  # past the length cap
    ],
)
def test_anything_else_is_refused(raw: Any) -> None:
    assert DecisionRef.decode(raw) is None


def test_unknown_fields_are_ignored_not_trusted() -> None:
    ref = DecisionRef.decode(json.dumps({"f": "F1", "n": "N1", "user": "U0BOSS"}))
    assert ref == DecisionRef("F1", "N1")
