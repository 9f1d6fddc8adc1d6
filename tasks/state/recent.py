"""Each person's recent lookups, for their App Home tab: what they asked (ids or a report
code), when, and how many invoices were found. Shared by every worker (Redis, else SQLite
under STATE_DIR), written when a lookup is answered.

Only ids, counts and times are kept: never links, response_urls, amounts or names.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from tasks.kv import KV, make_kv

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


class KVRecent:
    """A capped list a person, newest first (`LPUSH` + `LTRIM` in Redis)."""

    def __init__(self, kv: KV) -> None:
        self._kv = kv

    @staticmethod
    def _key(team_id: str, user_id: str) -> str:
        return f"{team_id or '-'}:{user_id}"

    def add(self, team_id: str, user_id: str, entry: RecentLookup) -> None:
        self._kv.list_push(self._key(team_id, user_id), _encode(entry), KEPT, RECENT_TTL_S)

    def latest(self, team_id: str, user_id: str, limit: int = SHOWN) -> list[RecentLookup]:
        raws: list[str | bytes] = list(self._kv.list_items(self._key(team_id, user_id), KEPT))
        return _latest(raws, limit)


def make_recent(redis_url: str | None, state_dir: Path) -> RecentLookups:
    path = state_dir / "recent-lookups.sqlite3"
    return KVRecent(make_kv(redis_url, "invoicebot:recent:", path, "recent"))
