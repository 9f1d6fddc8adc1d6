"""Lua scripts for the shared state in Redis: each update of a key one atomic step on the
server (no WATCH, no retries), the rule written again in Lua beside its Python original
(the spec, and what the SQLite store runs); tests/integration/test_shared_state_lua.py
checks that both give the same answers.

Constants come from the Python modules (templated in as `$NAME`), so they are written
once; numbers cross to Lua as `repr(float)` strings, which Lua's `tonumber` reads exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources import files
from string import Template

from tasks.ekuaibao.budget_store import KEEP_S

LuaValue = float | str | Mapping[str, float]


def lua_number(value: float) -> str:
    """`value` as a string Lua's `tonumber` (and Python's `float`) read back exactly."""
    return repr(float(value))


def lua_constant(value: LuaValue) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        fields = ",".join(f'["{name}"]={lua_number(v)}' for name, v in value.items())
        return "{" + fields + "}"
    return lua_number(value)


def lua_source(package: str, name: str, constants: Mapping[str, LuaValue]) -> str:
    """The script `name` of `package`, after the prelude, with its `$CONSTANTS` filled in."""
    prelude = files(__package__).joinpath("prelude.lua").read_text(encoding="utf-8")
    body = files(package).joinpath(name).read_text(encoding="utf-8")
    values = {"KEEP_MS": str(int(KEEP_S * 1000)), **constants}
    return Template(prelude + body).substitute({k: lua_constant(v) for k, v in values.items()})
