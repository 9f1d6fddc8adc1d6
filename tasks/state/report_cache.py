"""What a report held when it was last looked up, so the next look need not wait for the
report search before fetching its invoices.

A report costs two Ekuaibao round trips in a row: the report search (§4) for its invoice
ids, then the invoices. When the same report was looked up in the last half hour ("Show
more", "Refresh links", a second approver), the invoices it held then are fetched *while*
the search runs, and the search still decides: if the page's invoices changed, they are
fetched again. A reply is never staler than a cold lookup, just a round trip sooner when
nothing changed. Only invoice ids and types are kept: no amounts, names or links.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from tasks.ekuaibao.masters import ReportInvoiceRef
from tasks.kv import KV, make_kv

#: Long enough for a review session (a response_url lives 30 minutes).
TTL_S = 30 * 60
#: In-process entries kept at most (the embedded broker's single-host case); the id memory
#: (tasks/lookup/id_memory.py) keeps one per invoice id of the reports searched.
MAX_ENTRIES = 10_000


class ReportCache(Protocol):
    """Refs by key, each kept `ttl_s` seconds; `*_many` are one round trip on Redis."""

    def get(self, report: str) -> list[ReportInvoiceRef] | None: ...
    def put(self, report: str, refs: list[ReportInvoiceRef], ttl_s: float = TTL_S) -> None: ...
    def get_many(self, keys: list[str]) -> dict[str, list[ReportInvoiceRef]]: ...
    def put_many(
        self, entries: dict[str, list[ReportInvoiceRef]], ttl_s: float = TTL_S
    ) -> None: ...


def encode_refs(refs: list[ReportInvoiceRef]) -> str:
    return json.dumps([[r.invoice_id, list(r.item_ids), r.invoice_type] for r in refs])


def decode_refs(raw: str | bytes) -> list[ReportInvoiceRef] | None:
    try:
        return [
            ReportInvoiceRef(invoice_id=i, item_ids=tuple(items), invoice_type=t)
            for i, items, t in json.loads(raw)
        ]
    except (ValueError, TypeError):  # an entry from another version: as if absent
        return None


class KVReportCache:
    """Shared by every worker (Redis) or every process of a host (SQLite), so a refresh is
    fast whichever worker takes it and nobody pays calls to learn a miss again."""

    def __init__(self, kv: KV, tenant: str) -> None:
        self._kv = kv
        self._prefix = f"{tenant}:"

    def get(self, report: str) -> list[ReportInvoiceRef] | None:
        return self.get_many([report]).get(report)

    def put(self, report: str, refs: list[ReportInvoiceRef], ttl_s: float = TTL_S) -> None:
        self.put_many({report: refs}, ttl_s)

    def get_many(self, keys: list[str]) -> dict[str, list[ReportInvoiceRef]]:
        raws = self._kv.get_many([self._prefix + k for k in keys])
        found = {k[len(self._prefix) :]: decode_refs(raw) for k, raw in raws.items()}
        return {key: refs for key, refs in found.items() if refs is not None}

    def put_many(self, entries: dict[str, list[ReportInvoiceRef]], ttl_s: float = TTL_S) -> None:
        encoded = {self._prefix + k: encode_refs(refs) for k, refs in entries.items()}
        self._kv.put_many(encoded, ttl_s)


class MemoryReportCache:
    """Per process: for tests and in-process probes (a host's processes share the SQLite one)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: OrderedDict[str, tuple[float, tuple[ReportInvoiceRef, ...]]] = OrderedDict()
        self._lock = threading.Lock()
        self._clock = clock

    def get(self, report: str) -> list[ReportInvoiceRef] | None:
        with self._lock:
            entry = self._entries.get(report)
            if entry is None or entry[0] < self._clock():
                return None
            return list(entry[1])  # the refs are frozen; the list is the caller's own

    def put(self, report: str, refs: list[ReportInvoiceRef], ttl_s: float = TTL_S) -> None:
        self.put_many({report: refs}, ttl_s)

    def get_many(self, keys: list[str]) -> dict[str, list[ReportInvoiceRef]]:
        found = {key: self.get(key) for key in keys}
        return {key: refs for key, refs in found.items() if refs is not None}

    def put_many(self, entries: dict[str, list[ReportInvoiceRef]], ttl_s: float = TTL_S) -> None:
        with self._lock:
            until = self._clock() + ttl_s
            for key, refs in entries.items():
                self._entries[key] = (until, tuple(refs))
                self._entries.move_to_end(key)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)


def make_report_cache(redis_url: str | None, tenant: str, state_dir: Path) -> ReportCache:
    path = state_dir / "report-cache.sqlite3"
    return KVReportCache(make_kv(redis_url, "invoicebot:report:", path, "report_cache"), tenant)
