"""Where each review card lives: (report, approver) -> its DM channel and ts, shared by every
worker (Redis, else SQLite under STATE_DIR), so a later event updates the card it posted
even after a restart or on another worker."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from tasks.shared_redis import shared_redis
from tasks.sqlite import open_shared

#: A card is kept in mind this long: reports rarely wait longer for one approver.
CARD_TTL_S = 30 * 86400


@dataclass(frozen=True)
class Card:
    channel: str
    ts: str
    slack_user: str
    code: str = ""
    title: str = ""


class Cards(Protocol):
    def put(self, flow_id: str, staff_id: str, card: Card) -> None: ...
    def get(self, flow_id: str, staff_id: str) -> Card | None: ...
    def of_flow(self, flow_id: str) -> dict[str, Card]: ...
    def forget(self, flow_id: str, staff_id: str) -> None: ...


class RedisCards:
    def __init__(self, redis_url: str) -> None:
        self._redis = shared_redis(redis_url)

    @staticmethod
    def _key(flow_id: str) -> str:
        return f"invoicebot:review:cards:{flow_id}"

    def put(self, flow_id: str, staff_id: str, card: Card) -> None:
        pipe = self._redis.pipeline()
        pipe.hset(self._key(flow_id), staff_id, json.dumps(asdict(card)))
        pipe.expire(self._key(flow_id), CARD_TTL_S)
        pipe.execute()

    def get(self, flow_id: str, staff_id: str) -> Card | None:
        raw = self._redis.hget(self._key(flow_id), staff_id)
        return Card(**json.loads(raw)) if raw else None

    def of_flow(self, flow_id: str) -> dict[str, Card]:
        raw = self._redis.hgetall(self._key(flow_id))
        return {
            (k.decode() if isinstance(k, bytes) else str(k)): Card(**json.loads(v))
            for k, v in raw.items()
        }

    def forget(self, flow_id: str, staff_id: str) -> None:
        self._redis.hdel(self._key(flow_id), staff_id)


class SQLiteCards:
    def __init__(self, path: Path) -> None:
        self._db = open_shared(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS cards (flow TEXT, staff TEXT, card TEXT, until REAL,"
            " PRIMARY KEY (flow, staff))"
        )
        self._lock = threading.Lock()
        path.chmod(0o600)

    def put(self, flow_id: str, staff_id: str, card: Card) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO cards VALUES (?, ?, ?, ?)",
                (flow_id, staff_id, json.dumps(asdict(card)), time.time() + CARD_TTL_S),
            )

    def get(self, flow_id: str, staff_id: str) -> Card | None:
        with self._lock:
            row = self._db.execute(
                "SELECT card FROM cards WHERE flow = ? AND staff = ? AND until > ?",
                (flow_id, staff_id, time.time()),
            ).fetchone()
        return Card(**json.loads(row[0])) if row else None

    def of_flow(self, flow_id: str) -> dict[str, Card]:
        with self._lock:
            rows = self._db.execute(
                "SELECT staff, card FROM cards WHERE flow = ? AND until > ?",
                (flow_id, time.time()),
            ).fetchall()
        return {str(staff): Card(**json.loads(card)) for staff, card in rows}

    def forget(self, flow_id: str, staff_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM cards WHERE flow = ? AND staff = ?", (flow_id, staff_id))


def make_cards(redis_url: str | None, state_dir: Path) -> Cards:
    return RedisCards(redis_url) if redis_url else SQLiteCards(state_dir / "review-cards.sqlite3")
