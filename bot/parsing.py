"""Turn what a person typed after `/invoice` into a query, or say exactly what is wrong.

Both readers run before the bot acknowledges Slack, on text anyone in the workspace can
send, so every pattern here runs in linear time (possessive repeats where a failed match
could otherwise backtrack) and only the first `MAX_TEXT_CHARS` characters are read:
Slack's own limit for one message. A longer text (the message shortcut joins every text in
a message) is cut there, and an id the cut would split is dropped rather than shortened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tasks.contracts import ID_PATTERN, MAX_IDS

_ID = re.compile(ID_PATTERN)
_MAX_ID_LENGTH = 100
#: Slack's maximum for a message's text; at most 20 ids are used, so none is ever lost to it.
MAX_TEXT_CHARS = 40_000
#: A run of id characters at the start of a (reversed) text: what a cut would split.
_ID_CHARS = re.compile(r"[A-Za-z0-9:$_\-]*")
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
class ReportLookup:
    """`report B23001249` / `单据 B23001249`: a report code or id."""

    report: str


@dataclass(frozen=True)
class ReportUsage:
    """`report` with nothing usable after it."""


@dataclass(frozen=True)
class TooMany:
    count: int
    limit: int = MAX_IDS


@dataclass(frozen=True)
class Malformed:
    tokens: tuple[str, ...]


ParsedCommand = ShowHelp | Lookup | ReportLookup | ReportUsage | TooMany | Malformed

#: `report B23001249`, `report: B23001249`, `单据 B23001249`, `单据B23001249`: one report.
_REPORT_COMMAND = re.compile(
    r"^(?:report(?:\s+|\s*[:：#]\s*|$)|(?:单据|报销单)\s*[:：#]?\s*)(.*)$",
    re.IGNORECASE | re.DOTALL,
)


def capped(text: str | None) -> str:
    """At most `MAX_TEXT_CHARS` of the text, ending before an id the cut would split."""
    text = text or ""
    if len(text) <= MAX_TEXT_CHARS:
        return text
    head = text[:MAX_TEXT_CHARS]
    if not _ID_CHARS.fullmatch(text[MAX_TEXT_CHARS]):
        return head
    split = _ID_CHARS.match(head[::-1])
    split_length = split.end() if split else 0
    return head[:-split_length] if split_length < len(head) else head


def unescape_slack(text: str) -> str:
    """Undo Slack's escaping of `& < >` (and only those), `&amp;` last so it stays single."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def parse_command(text: str | None) -> ParsedCommand:
    """Ids in order, duplicates dropped; nothing partial: any bad token rejects the request."""
    raw = unescape_slack(capped(text)).strip()
    if not raw or raw.lower() in _HELP_WORDS:
        return ShowHelp()
    report = _REPORT_COMMAND.match(raw)
    if report:
        token = report.group(1).strip().strip(_WRAPPING)
        if _ID.fullmatch(token) and len(token) <= _MAX_ID_LENGTH:
            return ReportLookup(token)
        return ReportUsage()
    ids: dict[str, None] = {}  # dicts keep the order, and a lookup in them takes constant time
    bad: dict[str, None] = {}
    for token in _SEPARATORS.split(raw):
        candidate = token.strip(_WRAPPING)
        if not candidate:
            continue
        if len(candidate) <= _MAX_ID_LENGTH and _ID.fullmatch(candidate):
            ids.setdefault(candidate)
        else:
            bad.setdefault(token)
    if bad:
        return Malformed(tuple(bad))
    if not ids:
        return ShowHelp()
    if len(ids) > MAX_IDS:
        return TooMany(len(ids))
    return Lookup(tuple(ids))


# -- ids in prose: DMs, mentions and the message shortcut ---------------------------------

#: Slack markup that is never an id: <@U123>, <#C123|name>, <https://…|label>, <!here>.
#: Only run up to the text's last `>`: past it every `<` would scan to the end in vain.
_MARKUP = re.compile(r"<[@#!][^>]*>|<(?:https?|mailto):[^>]*>")
#: Shapes distinctive enough to find among words: `corp:code:number`, `corp::number[:n]`,
#: `ID…` ticket ids (may hold `$`), legacy `5-sbyDJSOI0800`.
_PROSE_ID = re.compile(
    r"(?<![\w:$-])("
    r"[A-Za-z0-9_-]{6,}:\d{6,12}:\d{6,20}"
    r"|[A-Za-z0-9_-]{6,}::\d{12,24}(?::\d{1,3})?"
    r"|ID[A-Za-z0-9_$]{8,40}"
    r"|\d-[A-Za-z0-9]{10,20}"
    r")(?![\w:$-])"
)
#: `report B23001249`, `单据：B23001249`, or a bare report code like B23001249.
_PROSE_REPORT = re.compile(
    r"(?:(?:report|单据|报销单)\s*+[:：#]?+\s*+([A-Za-z0-9_$-]{4,60}))"
    r"|(?<![\w-])([A-Z]{1,2}\d{8})(?![\w-])",
    re.IGNORECASE | re.ASCII,
)


@dataclass(frozen=True)
class Found:
    """What a free-text message asked for: ids (capped) and report codes/ids."""

    ids: tuple[str, ...]
    reports: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.ids or self.reports)


def find_in_prose(text: str | None) -> Found:
    """Ids and report codes mixed with prose and Slack markup, order kept, duplicates dropped."""
    raw = _without_markup(unescape_slack(capped(text))).replace("`", " ")
    ids: dict[str, None] = {}
    for match in _PROSE_ID.finditer(raw):
        if _usable(match.group(1)):
            ids.setdefault(match.group(1))
    reports: dict[str, None] = {}
    for match in _PROSE_REPORT.finditer(raw):
        code = match.group(1) or match.group(2)
        if code and _usable(code) and code not in ids:
            reports.setdefault(code)
    return Found(tuple(ids)[:MAX_IDS], tuple(reports)[:3])


def _without_markup(text: str) -> str:
    """Markup replaced by a space; a `<` with no `>` after it is left as it is."""
    end = text.rfind(">") + 1
    return _MARKUP.sub(" ", text[:end]) + text[end:]


def _usable(token: str) -> bool:
    """The same rule as for `/invoice`: what reaches Ekuaibao must look like an id."""
    return len(token) <= _MAX_ID_LENGTH and _ID.fullmatch(token) is not None
