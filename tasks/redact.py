"""Scrub secrets from log records: defence in depth behind never logging them at all."""

from __future__ import annotations

import logging
import re

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"xox[abposr]-[A-Za-z0-9-]+"), "xox?-[redacted]"),
    (re.compile(r"xapp-[A-Za-z0-9-]+"), "xapp-[redacted]"),
    (
        re.compile(r"(accessToken|refreshToken|appSecurity|appKey)([=:\"' ]+)[^&\s\"',}]+"),
        r"\1\2[redacted]",
    ),
    # signed links; `ticket` authorises a Socket Mode WebSocket URL
    (re.compile(r"(Signature|security-token|OSSAccessKeyId|ticket)=[^&\s\"']+"), r"\1=[redacted]"),
    (
        re.compile(r"https?://[^\s\"']*/(commands|actions|hooks)/[^\s\"']+"),
        "[response_url redacted]",
    ),
    # where Ekuaibao posts approval messages: the path's last part is a secret
    (re.compile(r"/ekuaibao/events/[^\s\"'?#]+"), "/ekuaibao/events/[redacted]"),
    # Ekuaibao's single-use deep link (getProvisionalAuth) logs whoever opens it in
    (re.compile(r"(thirdparty\.html\?)[^\s\"']+"), r"\1[redacted]"),
    # the same URL percent-encoded, as inside a logged form body
    (
        re.compile(r"https?%3A%2F%2F[^&\s\"']*?(?:commands|actions|hooks)%2F[^&\s\"']+", re.I),
        "[response_url redacted]",
    ),
)


#: Every pattern above contains one of these words: most log lines need no further look.
_MAYBE = re.compile(
    r"xox|xapp|Token|appSecurity|appKey|Signature|security-token|OSSAccessKeyId|ticket"
    r"|commands|actions|hooks|ekuaibao/events|thirdparty",
    re.I,
)


def redact(text: str) -> str:
    """Replace anything that looks like a token, signed URL part or response_url."""
    if not _MAYBE.search(text):
        return text
    # JSON may write `/` as `\/` (Slack's does, e.g. in Socket Mode envelopes logged at
    # DEBUG): read it as `/`, so the URL patterns see the plain URL
    text = text.replace("\\/", "/")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message, including exception text, before handlers see it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.msg = redact(message)
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
