"""Where each review card lives: (report, approver) -> its DM channel and ts, shared by every
worker (Redis, else SQLite under STATE_DIR), so a later event updates the card it posted
even after a restart or on another worker."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from tasks.kv import KV, make_kv

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


class KVCards:
    """A small map a report (`flow`): each approver's card, as JSON."""

    def __init__(self, kv: KV) -> None:
        self._kv = kv

    def put(self, flow_id: str, staff_id: str, card: Card) -> None:
        self._kv.field_put(flow_id, staff_id, json.dumps(asdict(card)), CARD_TTL_S)

    def get(self, flow_id: str, staff_id: str) -> Card | None:
        raw = self._kv.field_get(flow_id, staff_id)
        return _card(raw) if raw else None

    def of_flow(self, flow_id: str) -> dict[str, Card]:
        found = {staff: _card(raw) for staff, raw in self._kv.fields(flow_id).items()}
        return {staff: card for staff, card in found.items() if card is not None}

    def forget(self, flow_id: str, staff_id: str) -> None:
        self._kv.field_delete(flow_id, staff_id)


def _card(raw: str) -> Card | None:
    """A record another release wrote and this one cannot read is no card (it is drawn anew)."""
    try:
        return Card(**json.loads(raw))
    except (ValueError, TypeError):
        return None


def make_cards(redis_url: str | None, state_dir: Path) -> Cards:
    path = state_dir / "review-cards.sqlite3"
    return KVCards(make_kv(redis_url, "invoicebot:review:cards:", path, "cards"))
