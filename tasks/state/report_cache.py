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
from tasks.shared_redis import shared_redis
from tasks.sqlite import open_shared

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


class RedisReportCache:
    """Shared by every worker, so a refresh is fast whichever worker takes it."""

    def __init__(self, redis_url: str, tenant: str) -> None:
        self._redis = shared_redis(redis_url)
        self._prefix = f"invoicebot:report:{tenant}:"

    def get(self, report: str) -> list[ReportInvoiceRef] | None:
        raw = self._redis.get(self._prefix + report)
        return decode_refs(raw) if isinstance(raw, str | bytes) else None

    def put(self, report: str, refs: list[ReportInvoiceRef], ttl_s: float = TTL_S) -> None:
        self._redis.set(self._prefix + report, encode_refs(refs), ex=max(1, int(ttl_s)))

    def get_many(self, keys: list[str]) -> dict[str, list[ReportInvoiceRef]]:
        if not keys:
            return {}
        raws = self._redis.mget([self._prefix + k for k in keys])
        found = {
            k: decode_refs(raw)
            for k, raw in zip(keys, raws, strict=True)
            if isinstance(raw, str | bytes)
        }
        return {k: refs for k, refs in found.items() if refs is not None}

    def put_many(self, entries: dict[str, list[ReportInvoiceRef]], ttl_s: float = TTL_S) -> None:
        if not entries:
            return
        pipe = self._redis.pipeline(transaction=False)
        for key, refs in entries.items():
            pipe.set(self._prefix + key, encode_refs(refs), ex=max(1, int(ttl_s)))
        pipe.execute()


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


class SQLiteReportCache:
    """One file under STATE_DIR: the worker processes of one host (one per core) share what
    a report held and which ids matched nothing, as workers on Redis do, instead of each
    process paying Ekuaibao calls to learn it again."""

    def __init__(self, path: Path, tenant: str, clock: Callable[[], float] = time.time) -> None:
        self._db = open_shared(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS report_cache (key TEXT PRIMARY KEY, refs TEXT, until REAL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS report_cache_until ON report_cache (until)")
        path.chmod(0o600)
        self._prefix = f"{tenant}:"
        self._clock = clock
        self._lock = threading.Lock()

    def get(self, report: str) -> list[ReportInvoiceRef] | None:
        return self.get_many([report]).get(report)

    def put(self, report: str, refs: list[ReportInvoiceRef], ttl_s: float = TTL_S) -> None:
        self.put_many({report: refs}, ttl_s)

    def get_many(self, keys: list[str]) -> dict[str, list[ReportInvoiceRef]]:
        if not keys:
            return {}
        wanted = json.dumps([self._prefix + k for k in keys])
        with self._lock:
            rows = self._db.execute(
                "SELECT key, refs FROM report_cache WHERE until > ? "
                "AND key IN (SELECT value FROM json_each(?))",
                (self._clock(), wanted),
            ).fetchall()
        found = {key[len(self._prefix) :]: decode_refs(raw) for key, raw in rows}
        return {key: refs for key, refs in found.items() if refs is not None}

    def put_many(self, entries: dict[str, list[ReportInvoiceRef]], ttl_s: float = TTL_S) -> None:
        if not entries:
            return
        now = self._clock()
        rows = [(self._prefix + k, encode_refs(refs), now + ttl_s) for k, refs in entries.items()]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM report_cache WHERE until < ?", (now,))
                self._db.executemany("INSERT OR REPLACE INTO report_cache VALUES (?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise


def make_report_cache(redis_url: str | None, tenant: str, state_dir: Path) -> ReportCache:
    if redis_url:
        return RedisReportCache(redis_url, tenant)
    return SQLiteReportCache(state_dir / "report-cache.sqlite3", tenant)
