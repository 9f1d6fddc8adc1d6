"""Everything that can go wrong talking to Ekuaibao, as a small tree the task can act on.

    EkuaibaoError
    ├── CredentialsRejected   the app key/security or token was refused: tell the admin
    ├── BadRequest            Ekuaibao refused the question (400/412): retrying won't help
    └── Unavailable           garbled answers, and whatever below: retry the lookup later
        ├── Transient         timeouts, connection resets, 5xx: the call is retried at once
        │   └── RateLimited   429, with the delay Ekuaibao asked for when it said one
        └── BudgetSpent       our own shared request budget has no slot soon enough

Messages never contain URLs, tokens or bodies: they end up in logs and task results.
"""

from __future__ import annotations


class EkuaibaoError(Exception):
    """Base of all Ekuaibao failures; `str()` is safe to log."""


class CredentialsRejected(EkuaibaoError):
    """getAccessToken said 密钥无效, or a fresh token was refused again."""


class BadRequest(EkuaibaoError):
    """A 4xx other than 403/429: the request itself is wrong; retrying repeats the error."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Ekuaibao refused the request (HTTP {status}): {message}")
        self.status = status


class Unavailable(EkuaibaoError):
    """Ekuaibao could not answer properly right now; worth retrying later."""


class Transient(Unavailable):
    """One call failed in a way that usually passes within a second: worth repeating it
    (and only it) at once, before the whole lookup backs off."""


class RateLimited(Transient):
    def __init__(self, retry_after_s: float | None) -> None:
        super().__init__("Ekuaibao asked us to slow down (HTTP 429)")
        self.retry_after_s = retry_after_s


class BudgetSpent(Unavailable):
    """Every slot of the shared budget within our longest wait is taken: Ekuaibao is fine,
    it is our own line that is long. `ahead` lookups are in it before this one."""

    def __init__(self, wait_s: float, ahead: int) -> None:
        super().__init__(f"the shared Ekuaibao budget has no slot for {wait_s:.0f} s")
        self.wait_s = wait_s
        self.ahead = ahead
