"""The walls between the rooms (pyproject's import-linter contracts), checked by `pytest` too."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept() -> None:
    """`bot/` takes from `tasks/` only the contract and its acks; Ekuaibao code imports no
    Slack code; the rooms of `tasks/` are layered, without cycles."""
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    run = subprocess.run(
        [exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


#: Our own top-level packages: a leading underscore in them means "this module's own".
OURS = ("bot", "tasks", "sandbox", "bench", "tests")


def _our_sources() -> list[Path]:
    return sorted(p for top in OURS for p in (ROOT / top).rglob("*.py"))


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def underscore_reaches(source: str) -> list[str]:
    """Where a module takes another module's underscore name: `from ours.x import _y`, or
    `ours.x._y` through a module it imported."""
    tree = ast.parse(source)
    modules: set[str] = set()
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(
                a.asname or a.name.split(".")[0] for a in node.names if a.name.split(".")[0] in OURS
            )
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] not in OURS:
                continue
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
                else:  # `from tasks import runtime`: maybe a module, whose privates count too
                    modules.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in modules:
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_no_module_takes_another_modules_underscore_names() -> None:
    offenders = {
        str(path.relative_to(ROOT)): hits
        for path in _our_sources()
        if (hits := underscore_reaches(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_the_underscore_check_sees_both_ways_in() -> None:
    source = (
        "from tasks.review.cards.messages import _post, update_card\n"
        "from tasks import runtime\n"
        "import bot.enqueue\n"
        "import httpx\n"
        "runtime._deps = None\n"
        "bot.enqueue._timed_out(None)\n"
        "httpx.Client()._transport\n"
        "update_card.__name__\n"
    )
    assert underscore_reaches(source) == [
        "line 1: from tasks.review.cards.messages import _post",
        "line 5: runtime._deps",
        "line 6: bot.enqueue._timed_out",
    ]
