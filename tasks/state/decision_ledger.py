"""The decisions ledger, shared by every worker (Redis, else SQLite under STATE_DIR): one
record per (report, node, approver), claimed before Ekuaibao is called, so a double click,
another copy of the card or a second worker finds it taken; and the tenant's one slot a
minute for `backlog/data`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from tasks.kv import KV, make_kv

#: A decision is remembered this long (a report rarely comes back to one node sooner).
DECISION_TTL_S = 7 * 86400


class Ledger(Protocol):
    def claim(self, key: str, record: dict[str, Any]) -> dict[str, Any] | None:
        """Take `key` for `record`: None when taken now, else the record already there."""

    def get(self, key: str) -> dict[str, Any] | None: ...
    def put(self, key: str, record: dict[str, Any]) -> None: ...
    def release(self, key: str) -> None: ...

    def slot(self, tenant: str, interval_s: float) -> float:
        """0 when this caller may submit now (and the next one must wait `interval_s`),
        else how many seconds until the slot frees."""


class KVLedger:
    """Records as JSON; the tenant's slot is a claim that lapses after the interval."""

    def __init__(self, kv: KV) -> None:
        self._kv = kv

    def claim(self, key: str, record: dict[str, Any]) -> dict[str, Any] | None:
        held = self._kv.claim(key, json.dumps(record), DECISION_TTL_S)
        return None if held is None else _record(held)

    def get(self, key: str) -> dict[str, Any] | None:
        raw = self._kv.get(key)
        return None if raw is None else _record(raw)

    def put(self, key: str, record: dict[str, Any]) -> None:
        self._kv.put(key, json.dumps(record), DECISION_TTL_S)

    def release(self, key: str) -> None:
        self._kv.delete(key)

    def slot(self, tenant: str, interval_s: float) -> float:
        key = f"slot:{tenant}"
        if self._kv.claim(key, "{}", interval_s) is None:
            return 0.0
        left = self._kv.left_s(key)
        return max(left, 0.001) if left is not None else 0.001


def _record(raw: str) -> dict[str, Any]:
    try:
        found = json.loads(raw)
    except ValueError:
        found = None
    return found if isinstance(found, dict) else {"phase": "unknown"}


def make_ledger(redis_url: str | None, state_dir: Path) -> Ledger:
    path = state_dir / "decisions.sqlite3"
    return KVLedger(make_kv(redis_url, "invoicebot:decide:", path, "ledger"))
