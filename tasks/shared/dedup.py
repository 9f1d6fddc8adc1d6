"""Seen-before checks shared by every bot process: Slack retries events, people double-click.

In the broker's Redis when there is one, else in a small SQLite file in the
state folder, so a retried event is answered once however many bot processes run.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Protocol

import redis.exceptions

from tasks.kv import KV, make_kv

#: The shared state store is away (restarting, failing over, locked), not the lookup broken:
#: worth trying the whole task again shortly, never worth an error reply.
STATE_ERRORS: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    sqlite3.OperationalError,
)

#: Slack retries an event after ~0 s, 1 min and 5 min; remember keys longer than that.
DEFAULT_TTL_S = 15 * 60


class Dedup(Protocol):
    def first(self, key: str, ttl_s: float = DEFAULT_TTL_S) -> bool:
        """True the first time `key` is seen within `ttl_s`, False afterwards."""


class KVDedup:
    """A key seen is a key claimed (`tasks.kv`): only the first claim within the TTL wins."""

    def __init__(self, kv: KV) -> None:
        self._kv = kv

    def first(self, key: str, ttl_s: float = DEFAULT_TTL_S) -> bool:
        return self._kv.claim(key, "1", ttl_s) is None


def make_dedup(redis_url: str | None, state_dir: Path) -> Dedup:
    return KVDedup(make_kv(redis_url, "invoicebot:seen:", state_dir / "seen.sqlite3", "seen"))


class Ledger(Protocol):
    """Per-request reply state, so a redelivered task never answers twice."""

    def state(self, key: str) -> str | None: ...
    def claim(self, key: str, ttl_s: int) -> str | None:
        """Take `key` (value "posting", expiring after `ttl_s`) if it is free and return None;
        otherwise return its state ("posting" or "done"). One round trip for both."""

    def finish(self, key: str, ttl_s: int) -> None:
        """Mark `key` "done" for `ttl_s` seconds."""


class KVLedger:
    """ "posting" while a worker posts (a claim that lapses if it dies), then "done"."""

    def __init__(self, kv: KV) -> None:
        self._kv = kv

    def state(self, key: str) -> str | None:
        return self._kv.get(key)

    def claim(self, key: str, ttl_s: int) -> str | None:
        return self._kv.claim(key, "posting", ttl_s)

    def finish(self, key: str, ttl_s: int) -> None:
        self._kv.put(key, "done", ttl_s)


def make_ledger(redis_url: str | None, state_dir: Path) -> Ledger:
    path = state_dir / "replies.sqlite3"
    return KVLedger(make_kv(redis_url, "invoicebot:reply:", path, "ledger"))
