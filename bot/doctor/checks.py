"""One line per check, as an admin reads it: what was checked, what was found, what to do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from tasks.redact import redact

#: ok and skip pass; warn passes but deserves a look; fail makes the exit status 1.
Status = Literal["ok", "warn", "fail", "skip"]

_MARK: dict[Status, str] = {"ok": "✓", "warn": "⚠", "fail": "✗", "skip": "–"}


@dataclass(frozen=True)
class Check:
    status: Status
    name: str
    detail: str

    def line(self) -> str:
        """Redacted once more here: a line is printed, and must never carry a secret."""
        return redact(f"{_MARK[self.status]} {self.name}: {self.detail}")


def ok(name: str, detail: str) -> Check:
    return Check("ok", name, detail)


def warn(name: str, detail: str) -> Check:
    return Check("warn", name, detail)


def fail(name: str, detail: str) -> Check:
    return Check("fail", name, detail)


def skip(name: str, why: str) -> Check:
    return Check("skip", name, f"skipped, {why}")


def public_url(url: str) -> str:
    """Scheme, host, port and path only: no user, password, query or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    path = parts.path if parts.path not in ("", "/") else ""
    return f"{parts.scheme}://{host}{port}{path}"


def same_origin(a: str, b: str) -> bool:
    """Same scheme, host and port; case, default ports and trailing slashes aside."""

    def origin(url: str) -> tuple[str, str, int | None]:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        default = {"https": 443, "http": 80}.get(scheme)
        try:
            port = parts.port or default
        except ValueError:
            port = None
        return scheme, (parts.hostname or "").lower(), port

    return origin(a) == origin(b)
