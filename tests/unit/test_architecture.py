"""The walls between the rooms (pyproject's import-linter contracts), checked by `pytest` too."""

from __future__ import annotations

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
