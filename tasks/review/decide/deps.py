"""What deciding needs (the review's parts and their Ekuaibao API, the ledger) and its timings."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tasks.ekuaibao.approvals import ApprovalsApi
from tasks.ekuaibao.decision_models import License
from tasks.ekuaibao.errors import EkuaibaoError
from tasks.review.deps import ReviewDeps
from tasks.state.decision_ledger import Ledger

log = logging.getLogger(__name__)


#: Charge powers are asked again after this long (at start-up, then hourly).
LICENSE_TTL_S = 3600
#: A claim that made no progress this long is looked at again by the next click.
STALE_S = 90
#: A confirmed decision blocks its (report, node, approver) this long; after that, the
#: report may have come back to the same node.
REUSE_S = 300
#: After this long without Ekuaibao confirming, the card says "not confirmed".
CONFIRM_S = 75
#: Result polls after the submit (s), inside its 60-second window.
POLLS = (0.3, 0.7, 1.5, 3, 5, 10, 20)
ACTIONS = {"approve": "freeflow.agree", "reject": "freeflow.reject"}


class Wait(Exception):
    """Try this decision again in `seconds` (the tenant's slot, or Ekuaibao still busy)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"again in {seconds:.1f} s")
        self.seconds = seconds


@dataclass
class Licence:
    """Whether deciding in Slack is on here, and licensed by the tenant's charge powers
    (read at start-up, then hourly; a failed read is asked again next time)."""

    api: ApprovalsApi
    enabled: bool
    clock: Callable[[], float] = time.time
    _known: tuple[float, License] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def license(self) -> License:
        with self._lock:
            if self._known and self.clock() - self._known[0] < LICENSE_TTL_S:
                return self._known[1]
        try:
            found = self.api.license()
        except EkuaibaoError as exc:
            found = License(False, f"charge/powers/list failed: {exc}")
            log.warning("could not read Ekuaibao's charge powers: %s", exc)
            return found  # not cached: asked again next time
        with self._lock:
            self._known = (self.clock(), found)
        if not found.licensed:
            log.warning("deciding in Slack is unavailable: %s", found.why)
        return found

    @property
    def active(self) -> bool:
        return self.enabled and self.license().licensed


@dataclass
class DecideDeps:
    review: ReviewDeps
    ledger: Ledger
    licence: Licence
    interval_s: float
    #: What decision tasks must be signed with (Settings.decision_key); None: none pass.
    key: bytes | None = None
    tenant: str = "tenant"
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
