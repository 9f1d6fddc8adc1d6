"""The previews the bot uploaded to Slack and when each is to be deleted, shared by every
worker (Redis, else SQLite under STATE_DIR). Only Slack file ids and times are kept."""

from __future__ import annotations

from pathlib import Path

from tasks.kv import KV, make_kv

#: The map's own lifetime beyond the latest deletion: a sweep that was down for a while
#: still finds what it must delete.
SLACK_S = 7 * 86400
_MAP = "uploaded"
_SWEEP = "sweep"


class UploadedPreviews:
    def __init__(self, kv: KV) -> None:
        self._kv = kv

    def remember(self, file_id: str, delete_at: float, keep_s: float) -> None:
        self._kv.field_put(_MAP, file_id, f"{delete_at:.0f}", keep_s + SLACK_S)

    def due(self, now: float) -> list[str]:
        """Files whose time is up, oldest first."""
        due = []
        for file_id, at in self._kv.fields(_MAP).items():
            try:
                when = float(at)
            except ValueError:
                when = 0.0
            if when <= now:
                due.append((when, file_id))
        return [file_id for _, file_id in sorted(due)]

    def forget(self, file_id: str) -> None:
        self._kv.field_delete(_MAP, file_id)

    def take_sweep(self, holder: str, every_s: float) -> bool:
        """Whether this process sweeps now: one sweep per interval across every worker."""
        return self._kv.claim(_SWEEP, holder, every_s) is None


def make_uploaded_previews(redis_url: str | None, state_dir: Path) -> UploadedPreviews:
    path = state_dir / "previews.sqlite3"
    return UploadedPreviews(make_kv(redis_url, "invoicebot:previews:", path))
