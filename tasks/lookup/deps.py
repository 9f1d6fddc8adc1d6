"""What a lookup needs from the world, given once per worker process (tasks/runtime.py)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Literal

from tasks.contracts import ReplyTarget
from tasks.ekuaibao.approval_models import Staff
from tasks.ekuaibao.client import EkuaibaoClient
from tasks.lookup.access import AccessChecker
from tasks.shared.dedup import Ledger
from tasks.shared.language import LanguagePicker
from tasks.shared.texts import Texts, texts_for
from tasks.slack.identity import SlackIdentity
from tasks.slack.replies import Replier
from tasks.state.inflight import InFlight
from tasks.state.recent import RecentLookups
from tasks.state.report_cache import ReportCache

MAX_BACKOFF_S = 300.0


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float = 2.0
    window_s: float = 25 * 60

    def delay(self, attempt: int, asked: float | None = None) -> float:
        """Exponential backoff with jitter; never shorter than what Ekuaibao asked for."""
        jitter: float = random.uniform(0.5, 1.0)  # noqa: S311 (not cryptographic)
        delay = min(self.base_s * 2.0**attempt, MAX_BACKOFF_S) * jitter
        return max(delay, asked or 0.0)


@dataclass
class Deps:
    client: EkuaibaoClient
    replier: Replier
    executor: Executor
    language: LanguagePicker
    retry: RetryPolicy
    ledger: Ledger | None = None
    access: AccessChecker | None = None
    reports: ReportCache | None = None
    #: Staff names by `<corpId>:<staffId>`, cached (the review room's ApprovalsApi.staff).
    staff: Callable[[list[str]], Mapping[str, Staff]] | None = None
    #: Each person's recent lookups, for their Home tab (tasks.lookup.history).
    recent: RecentLookups | None = None
    #: Each person's lookups in flight, capped (tasks.lookup.turns).
    inflight: InFlight | None = None
    #: Who may see finance data or act here (Slack's record of them, this installation).
    identity: SlackIdentity | None = None
    #: PREVIEWS: what replies show of the files themselves (tasks.settings).
    previews: Literal["off", "images", "all"] = "images"
    clock: Callable[[], float] = time.time

    def texts(self, target: ReplyTarget) -> Texts:
        return texts_for(target.language or self.language.for_user(target.user_id))
