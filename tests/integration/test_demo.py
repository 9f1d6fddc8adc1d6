"""`invoicebot demo` (HTTP mode) ends with an approval from the review card."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(180)


def test_the_demo_ends_with_an_approval_from_the_card(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    before, _, after = out.partition("They press Confirm.")
    assert "[ Approve ]  [ Reject… ]  [ Ask the submitter… ]" in before
    assert "Waiting at 财务审批" in before  # the modal shows the report again
    assert "✅ *Approved* by you at" in after and "now at 出纳支付" in after
    assert "[ Approve ]" not in after  # no stale buttons
