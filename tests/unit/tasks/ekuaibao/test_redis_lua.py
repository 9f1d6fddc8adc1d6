"""The Lua scripts' sources: constants from the Python modules, numbers that cross exactly."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasks.ekuaibao import line
from tasks.ekuaibao.budget import QUIET_S
from tasks.ekuaibao.budget_redis import BUDGET_SCRIPT
from tasks.ekuaibao.budget_store import KEEP_S
from tasks.ekuaibao.redis_lua import lua_constant, lua_number, lua_source
from tasks.state.inflight import RUNNING_S, SCRIPT


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_number_crosses_to_lua_and_back_exactly(value: float) -> None:
    assert float(lua_number(value)) == value
    assert re.fullmatch(r"-?\d+(\.\d+)?(e[-+]\d+)?", lua_number(value))  # Lua's tonumber reads it


def test_constants_become_lua_literals() -> None:
    assert lua_constant(2) == "2.0"
    assert lua_constant("{}") == "{}"
    assert lua_constant({"bulk": 0.5, "decision": 0}) == '{["bulk"]=0.5,["decision"]=0.0}'


def test_the_scripts_carry_the_python_constants_and_nothing_left_unfilled() -> None:
    for script in (BUDGET_SCRIPT, SCRIPT):
        assert "$" not in script
        assert f"'PX', {int(KEEP_S * 1000)})" in script  # the prelude, with the state's TTL
    assert lua_constant(line.RESERVE) in BUDGET_SCRIPT
    assert f"calm = now - cut_at - {QUIET_S!r}" in BUDGET_SCRIPT
    assert f"now + {RUNNING_S!r}" in SCRIPT


def test_a_constant_the_script_needs_but_is_not_given_is_an_error() -> None:
    with pytest.raises(KeyError, match="RUNNING_S"):
        lua_source("tasks.state", "inflight.lua", {})
