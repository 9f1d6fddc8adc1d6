"""Scrub secrets from log records, and keep each record on one line: defence in depth
behind never logging secrets, and against text from Slack or Ekuaibao forging log lines.

Every pattern is case-insensitive and runs in linear time (no pattern can backtrack over
what it already matched), so a 40,000-character line costs what reading it costs.
"""

from __future__ import annotations

import logging
import re
import traceback
from types import TracebackType

#: Query, JSON and repr forms: `name=value`, `"name": "value"`, `'name': 'value'`,
#: percent-encoded `name%3Dvalue` and JSON-in-JSON `\"name\": \"value\"`. A name only has to
#: end in one of these words: `x-oss-signature`, `X-Amz-Security-Token`, `access_token`,
#: `refreshToken`, `OSSAccessKeyId`. `Expires`, `x-oss-date` and the like are not secrets.
_HIDDEN_NAMES = (
    r"signature|credential|security-token|token|accesskeyid|appsecurity|appsecret|appkey"
    r"|signkey|ticket"  # `ticket` authorises a Socket Mode WebSocket URL
)
#: A secret value: up to the next separator a URL, JSON or a header line may have.
_VALUE = r"(?:[^&\s\"'<>,;{}()\[\]\\]|\\/)++"
_KEY_VALUE = re.compile(
    rf"(?P<name>{_HIDDEN_NAMES})"
    # `:` only after a quoted key (JSON, a repr): in prose ("token: refused") it is not one
    r"(?P<sep>\\?[\"'][ \t]{0,3}:[ \t]{0,3}(?:\\?[\"'])?"
    r"|(?:\\?[\"'])?[ \t]{0,3}=[ \t]{0,3}(?:\\?[\"'])?|%3D|%253D)" + _VALUE,
    re.I,
)
_PLAIN = (
    (re.compile(r"xox[abposr]-[A-Za-z0-9-]++", re.I), "xox?-[redacted]"),
    (re.compile(r"xapp-[A-Za-z0-9-]++", re.I), "xapp-[redacted]"),
    (re.compile(r"\bbearer[ \t]{1,3}" + _VALUE, re.I), "Bearer [redacted]"),
    # where Ekuaibao posts approval messages: the path's last part is a secret
    (
        re.compile(r"/ekuaibao(?:\\?/|%2F)events(?:\\?/|%2F)[^\s\"'?#&\\]++", re.I),
        "/ekuaibao/events/[redacted]",
    ),
    # Ekuaibao's single-use deep link (getProvisionalAuth) logs whoever opens it in
    (re.compile(r"(thirdparty\.html\?)[^\s\"']++", re.I), r"\1[redacted]"),
)
#: A whole URL, as written, percent-encoded (inside a logged form body) or JSON-escaped.
_URL = re.compile(r"https?:(?:\\?/){2}[^\s\"'<>]++|https?%3A%2F%2F[^&\s\"'<>]++", re.I)
#: A Slack response_url (or webhook): the whole URL is the secret.
_RESPONSE_URL_PATH = re.compile(r"(?:\\?/|%2F)(?:commands|actions|hooks)(?:\\?/|%2F)", re.I)
_RESPONSE_URL_REDACTED = "[response_url redacted]"
#: Every pattern above contains one of these words: most log lines need no further look.
#: Looked for in the case-folded line with `in` (a regex alternation of them, though linear,
#: tried every word at every position: ~90 us for a 370-character audit line).
HINTS = (
    *_HIDDEN_NAMES.split("|"),
    *("xox", "xapp", "bearer", "commands", "actions", "hooks", "events", "thirdparty"),
)


def maybe_secret(text: str) -> bool:
    """Whether any pattern could match: every letter the case-insensitive patterns take
    for an ASCII one folds to it; `re` also takes ı and İ for i, which fold to ı and i + ◌̇."""
    folded = text.casefold().replace("ı", "i").replace("\u0307", "")
    return any(word in folded for word in HINTS)


def redact(text: str) -> str:
    """Replace anything that looks like a token, signed URL part or response_url."""
    if not maybe_secret(text):
        return text
    text = _URL.sub(_response_url_or_as_is, text)
    for pattern, replacement in _PLAIN:
        text = pattern.sub(replacement, text)
    return _KEY_VALUE.sub(lambda m: f"{m['name']}{m['sep']}[redacted]", text)


def _response_url_or_as_is(url: re.Match[str]) -> str:
    return _RESPONSE_URL_REDACTED if _RESPONSE_URL_PATH.search(url[0]) else url[0]


# -- one record, one line ------------------------------------------------------------------

#: C0 and C1 controls (newline, CR, ESC of ANSI sequences…), DEL, Unicode line and paragraph
#: separators, and the bidirectional overrides that reorder how a terminal shows a line.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    """`\\n`, `\\r`, `\\t`, `\\x1b`, `\\u2028`… written out: the text stays on its line."""
    if not _CONTROLS.search(text):
        return text
    return _CONTROLS.sub(lambda m: _NAMED.get(m[0]) or f"\\u{ord(m[0]):04x}", text)


def _escape_within_lines(text: str) -> str:
    return "\n".join(escape_controls(line) for line in text.split("\n"))


def format_exception(
    exc_info: tuple[type[BaseException], BaseException, TracebackType | None],
) -> str:
    """A traceback that keeps its own lines (frames: our files, line numbers and source)
    while each exception's message, which may quote Slack or Ekuaibao, stays on one line.

    Python's own formatting cannot tell the two apart afterwards, so the messages are
    picked out before: they are the `format_exception_only` parts of each exception in the
    chain. An exception group nests them with margins: then every line is escaped whole.
    """
    top = traceback.TracebackException(*exc_info, compact=True)
    messages: set[str] = set()
    node: traceback.TracebackException | None = top
    seen = 0
    while node is not None and seen < 100:
        if node.exceptions:  # an ExceptionGroup
            return escape_controls("".join(top.format()).rstrip("\n"))
        messages.update(node.format_exception_only())
        node, seen = (
            node.__cause__ or (None if node.__suppress_context__ else node.__context__),
            seen + 1,
        )
    chunks = [
        escape_controls(chunk.rstrip("\n")) + "\n"
        if chunk in messages
        else _escape_within_lines(chunk)
        for chunk in top.format()
    ]
    return "".join(chunks).rstrip("\n")


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message and exception text before handlers see it:
    secrets redacted, and controls escaped, so one record is one line plus, for an
    exception, its traceback's own lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = format_exception(record.exc_info)
        elif record.exc_text:  # formatted elsewhere: its lines kept, each line escaped
            record.exc_text = _escape_within_lines(record.exc_text)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = _escape_within_lines(redact(record.stack_info))
        record.msg = escape_controls(redact(message))
        record.args = None
        return True


def configure_logging(level: str = "INFO") -> None:
    """Root logging for bot and worker: one format, redaction, quiet HTTP libraries.

    httpx logs every full URL at INFO, and Ekuaibao puts accessToken in the query string.
    """
    root = logging.getLogger()
    root.setLevel(level.upper())
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    for existing in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in existing.filters):
            existing.addFilter(RedactingFilter())
    for noisy in ("httpx", "httpcore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
