"""The bot scopes manifest.yml asks for, read without a YAML library, and what is missing.

PyYAML is not a dependency of the bot, and the one list we need (`oauth_config.scopes.bot`)
is simple: a block list (`- scope  # why`) or a flow list (`bot: [a, b]`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

MANIFEST = "manifest.yml"
_PATH = ("oauth_config", "scopes", "bot")


class ManifestError(Exception):
    """manifest.yml is missing or has no bot scopes; the message says which."""


def find_manifest(explicit: Path | None = None) -> Path:
    """--manifest, else ./manifest.yml, else the one in this source checkout."""
    if explicit is not None:
        if not explicit.is_file():
            raise ManifestError(f"{explicit} does not exist")
        return explicit
    for candidate in (Path.cwd() / MANIFEST, Path(__file__).resolve().parents[2] / MANIFEST):
        if candidate.is_file():
            return candidate
    raise ManifestError(f"no {MANIFEST} here: pass --manifest path/to/{MANIFEST}")


def _uncomment(line: str) -> str:
    """A YAML comment starts at `#` at the line's start or after a space."""
    if line.lstrip().startswith("#"):
        return ""
    cut = line.find(" #")
    return (line if cut < 0 else line[:cut]).rstrip()


def _scalar(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def bot_scopes(text: str) -> list[str]:
    """`oauth_config.scopes.bot` of a manifest, in its order."""
    stack: list[tuple[int, str]] = []  # (indent, key) of the mappings we are inside
    scopes: list[str] = []
    found = False
    for raw in text.splitlines():
        line = _uncomment(raw)
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        content = line.strip()
        if content.startswith("- ") or content == "-":
            while stack and stack[-1][0] > indent:
                stack.pop()
            if tuple(key for _, key in stack) == _PATH:
                scopes.append(_scalar(content[1:]))
            continue
        key, sep, value = content.partition(":")
        if not sep:
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, _scalar(key)))
        if tuple(k for _, k in stack) == _PATH:
            found = True
            value = value.strip()
            if value.startswith("[") and value.endswith("]"):
                scopes.extend(_scalar(s) for s in value[1:-1].split(",") if s.strip())
    scopes = [s for s in scopes if s]
    if not found or not scopes:
        raise ManifestError("it has no oauth_config.scopes.bot list")
    return list(dict.fromkeys(scopes))


def read_bot_scopes(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"cannot read {path} ({type(exc).__name__})") from None
    try:
        return bot_scopes(text)
    except ManifestError as exc:
        raise ManifestError(f"{path}: {exc}") from None


def granted(header: str | None) -> list[str]:
    """Slack's `x-oauth-scopes` header: comma-separated scopes."""
    return [s.strip() for s in (header or "").split(",") if s.strip()]


def missing_scopes(wanted: Sequence[str], have: Iterable[str]) -> list[str]:
    """What the manifest asks for and the token lacks, in the manifest's order."""
    held = set(have)
    return [scope for scope in wanted if scope not in held]
