"""Turn what a person typed after `/invoice` into a query, or say exactly what is wrong."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tasks.contracts import MAX_IDS

#: Ekuaibao ids are opaque but use only these characters (`corp:code:number`, `ID_3tlmF6$S1bg`).
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9:$_\-]*")
_MAX_ID_LENGTH = 100
#: Spaces, new lines and commas separate ids; so do the Chinese comma, 、 and semicolons.
_SEPARATORS = re.compile(r"[\s,，、;；]+")
#: Wrapping people add when they paste: quotes, backticks, brackets, a trailing full stop.
_WRAPPING = "`'\"“”‘’()[]{}（）【】<>.。"
_HELP_WORDS = frozenset({"help", "-h", "--help", "?", "帮助", "usage"})


@dataclass(frozen=True)
class ShowHelp:
    """Empty text or `help`: show how to use the command."""


@dataclass(frozen=True)
class Lookup:
    ids: tuple[str, ...]


@dataclass(frozen=True)
class TooMany:
    count: int
    limit: int = MAX_IDS


@dataclass(frozen=True)
class Malformed:
    tokens: tuple[str, ...]


ParsedCommand = ShowHelp | Lookup | TooMany | Malformed


def unescape_slack(text: str) -> str:
    """Undo Slack's escaping of `& < >` (and only those), `&amp;` last so it stays single."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def parse_command(text: str | None) -> ParsedCommand:
    """Ids in order, duplicates dropped; nothing partial: any bad token rejects the request."""
    raw = unescape_slack(text or "").strip()
    if not raw or raw.lower() in _HELP_WORDS:
        return ShowHelp()
    ids: list[str] = []
    bad: list[str] = []
    for token in _SEPARATORS.split(raw):
        candidate = token.strip(_WRAPPING)
        if not candidate:
            continue
        if len(candidate) <= _MAX_ID_LENGTH and _ID.fullmatch(candidate):
            if candidate not in ids:
                ids.append(candidate)
        elif token not in bad:
            bad.append(token)
    if bad:
        return Malformed(tuple(bad))
    if not ids:
        return ShowHelp()
    if len(ids) > MAX_IDS:
        return TooMany(len(ids))
    return Lookup(tuple(ids))
