"""Every file or folder of this repository that the README or a page under docs/ names
exists: a path in backticks that starts with one of our folders, and every relative link."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("bot/", "tasks/", "tests/", "bench/", "sandbox/", "docs/", "deploy/", ".ci/")
_CODE = re.compile(r"`([^`\s]+)`")
_LINK = re.compile(r"\]\(([^)\s#]+)")


def named_paths(text: str) -> tuple[set[str], set[str]]:
    """(repository paths in backticks, relative link targets) that `text` names."""
    code = {
        c.split(":")[0].rstrip(".,;")
        for c in _CODE.findall(text)
        if c.startswith(FOLDERS) and not any(ch in c for ch in "*<{")
    }
    links = {t for t in _LINK.findall(text) if "://" not in t and not t.startswith("mailto:")}
    return code, links


def test_every_named_path_exists() -> None:
    missing = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        code, links = named_paths(doc.read_text(encoding="utf-8"))
        missing += [f"{doc.name}: `{p}`" for p in sorted(code) if not (ROOT / p).exists()]
        missing += [f"{doc.name}: ({t})" for t in sorted(links) if not (doc.parent / t).exists()]
    assert missing == []


def test_the_check_sees_code_paths_and_links() -> None:
    code, links = named_paths(
        "see `tasks/lookup/gate.py:41`, `bot/*.py`, `redis://x`, [a](docs/a.md#b) "
        "and [b](https://example.com/x)"
    )
    assert code == {"tasks/lookup/gate.py"} and links == {"docs/a.md"}
