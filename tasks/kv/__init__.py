"""The one small key-value interface under the shared stores: get and put with expiry
(one or many in a round trip), claim-once with expiry, what is left of an expiry, delete,
small maps (a field each: which card each approver of a report has) and capped lists
(each person's recent lookups).

Redis when the deployment has one (the broker's, so every host shares it), else a SQLite
file under STATE_DIR (every process of one host shares it). Stores keep their own key
prefix (Redis) or file (SQLite), so a deploy reads what the previous release wrote. On
SQLite a claim or an update reads and writes inside one immediate transaction (the file's
write lock), as `SET NX` or a Lua script does in Redis; the stores hold none of their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from tasks.kv.on_redis import RedisKV
from tasks.kv.on_sqlite import SQLiteKV


class KV(Protocol):
    """What every shared store needs; `RedisKV` and `SQLiteKV` both provide it."""

    def get(self, key: str) -> str | None:
        """The value, or None when absent or expired."""

    def put(self, key: str, value: str, ttl_s: float) -> None:
        """Set `key` to `value` for `ttl_s` seconds, whatever was there."""

    def get_many(self, keys: Sequence[str]) -> dict[str, str]:
        """The live values among `keys`, in one round trip."""

    def put_many(self, entries: Mapping[str, str], ttl_s: float) -> None:
        """`put` for each entry, in one round trip."""

    def claim(self, key: str, value: str, ttl_s: float) -> str | None:
        """Set `key` to `value` for `ttl_s` only if it is free: None when this caller took
        it, else the value that holds it. One round trip for both."""

    def left_s(self, key: str) -> float | None:
        """Seconds until `key` expires; None when it is absent."""

    def delete(self, key: str) -> None: ...

    def field_put(self, key: str, field: str, value: str, ttl_s: float) -> None:
        """Set one field of the small map at `key`; the whole map lives `ttl_s` from now."""

    def field_get(self, key: str, field: str) -> str | None: ...
    def fields(self, key: str) -> dict[str, str]:
        """Every live field of the map at `key`."""

    def field_delete(self, key: str, field: str) -> None: ...

    def list_push(self, key: str, value: str, keep: int, ttl_s: float) -> None:
        """Put `value` first in the list at `key`, keep its newest `keep`; the list lives
        `ttl_s` from now."""

    def list_items(self, key: str, count: int) -> list[str]:
        """The newest `count` values, newest first."""


def make_kv(redis_url: str | None, prefix: str, path: Path, legacy: str | None = None) -> KV:
    """Redis under `prefix` when there is one, else the SQLite file at `path`."""
    if redis_url:
        return RedisKV(redis_url, prefix)
    return SQLiteKV(path, legacy)


__all__ = ["KV", "RedisKV", "SQLiteKV", "make_kv"]
