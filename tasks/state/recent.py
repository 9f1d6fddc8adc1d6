"""Each person's recent lookups, for their App Home tab: what they asked (ids or a report
code), when, and how many invoices were found. Shared by every worker (Redis, else SQLite
under STATE_DIR), written when a lookup is answered.

Only ids, counts and times are kept: never links, response_urls, amounts or names.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from tasks.shared_redis import shared_redis
from tasks.sqlite import open_shared

#: A lookup is remembered this long.
RECENT_TTL_S = 14 * 86400
#: Kept per person (repeats are shown once, so more are kept than shown).
KEPT = 20
#: Shown on the Home tab.
SHOWN = 5


@dataclass(frozen=True)
class RecentLookup:
    ids: tuple[str, ...]
    report: str
    at: float
    found: int
    not_found: int

    @property
    def what(self) -> tuple[tuple[str, ...], str]:
        return self.ids, self.report


def _encode(entry: RecentLookup) -> str:
    return json.dumps({**asdict(entry), "ids": list(entry.ids)}, separators=(",", ":"))


def _decode(raw: str | bytes) -> RecentLookup | None:
    try:
        data = json.loads(raw)
        return RecentLookup(
            tuple(str(i) for i in data["ids"]),
            str(data["report"]),
            float(data["at"]),
            int(data["found"]),
            int(data["not_found"]),
        )
    except (ValueError, TypeError, KeyError):  # an entry from another version: skipped
        return None


def _latest(raws: list[str | bytes], limit: int) -> list[RecentLookup]:
    """Newest first, each question once (its latest answer)."""
    seen: set[tuple[tuple[str, ...], str]] = set()
    out: list[RecentLookup] = []
    entries = [e for e in map(_decode, raws) if e is not None]
    for entry in sorted(entries, key=lambda e: e.at, reverse=True):
        if entry.what not in seen:
            seen.add(entry.what)
            out.append(entry)
    return out[:limit]


class RecentLookups(Protocol):
    def add(self, team_id: str, user_id: str, entry: RecentLookup) -> None: ...
    def latest(self, team_id: str, user_id: str, limit: int = SHOWN) -> list[RecentLookup]: ...


class RedisRecent:
    def __init__(self, redis_url: str) -> None:
        self._redis = shared_redis(redis_url)

    @staticmethod
    def _key(team_id: str, user_id: str) -> str:
        return f"invoicebot:recent:{team_id or '-'}:{user_id}"

    def add(self, team_id: str, user_id: str, entry: RecentLookup) -> None:
        key = self._key(team_id, user_id)
        pipe = self._redis.pipeline(transaction=False)  # one round trip; no MULTI/EXEC needed
        pipe.lpush(key, _encode(entry))
        pipe.ltrim(key, 0, KEPT - 1)
        pipe.expire(key, RECENT_TTL_S)
        pipe.execute()

    def latest(self, team_id: str, user_id: str, limit: int = SHOWN) -> list[RecentLookup]:
        raws = self._redis.lrange(self._key(team_id, user_id), 0, KEPT - 1)
        return _latest(list(raws), limit)


class SQLiteRecent:
    def __init__(self, path: Path) -> None:
        self._db = open_shared(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS recent (who TEXT, at REAL, entry TEXT, until REAL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS recent_who ON recent (who, at)")
        self._lock = threading.Lock()
        path.chmod(0o600)

    def add(self, team_id: str, user_id: str, entry: RecentLookup) -> None:
        who, now = f"{team_id or '-'}:{user_id}", time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT INTO recent VALUES (?, ?, ?, ?)",
                    (who, entry.at, _encode(entry), now + RECENT_TTL_S),
                )
                self._db.execute(
                    "DELETE FROM recent WHERE who = ? AND (until < ? OR rowid NOT IN (SELECT "
                    "rowid FROM recent WHERE who = ? ORDER BY at DESC LIMIT ?))",
                    (who, now, who, KEPT),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def latest(self, team_id: str, user_id: str, limit: int = SHOWN) -> list[RecentLookup]:
        with self._lock:
            rows = self._db.execute(
                "SELECT entry FROM recent WHERE who = ? AND until > ? ORDER BY at DESC LIMIT ?",
                (f"{team_id or '-'}:{user_id}", time.time(), KEPT),
            ).fetchall()
        return _latest([row[0] for row in rows], limit)


def make_recent(redis_url: str | None, state_dir: Path) -> RecentLookups:
    if redis_url:
        return RedisRecent(redis_url)
    return SQLiteRecent(state_dir / "recent-lookups.sqlite3")
