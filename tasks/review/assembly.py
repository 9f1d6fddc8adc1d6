"""The review room's composition root: what reviews and decisions need, built together once
a process, over the lookup's own client, budget and thread pool (`tasks.runtime`)."""

from __future__ import annotations

import logging
import threading
from functools import partial

from tasks import runtime
from tasks.ekuaibao.approvals import ApprovalsApi
from tasks.lookup.deps import Deps
from tasks.review.decide.buttons import with_buttons
from tasks.review.decide.deps import DecideDeps, Licence
from tasks.review.deps import ReviewDeps
from tasks.settings import Settings, load_settings
from tasks.shared.dedup import make_dedup
from tasks.shared.slack_client import slack_client
from tasks.state.decision_ledger import make_ledger
from tasks.state.review_cards import make_cards

log = logging.getLogger(__name__)
_lock = threading.Lock()
#: Built for the lookup deps of this id: tests that rebuild those get new ones here too.
_built: tuple[int, ReviewDeps, DecideDeps] | None = None


def review_deps() -> ReviewDeps:
    return _deps()[0]


def decide_deps() -> DecideDeps:
    return _deps()[1]


def _deps() -> tuple[ReviewDeps, DecideDeps]:
    global _built
    lookup = runtime.deps()
    with _lock:
        if _built is None or _built[0] != id(lookup):
            settings = load_settings(require=("ekuaibao_app_key", "ekuaibao_app_security"))
            review, decide = build(lookup, settings)
            _built = (id(lookup), review, decide)
            start(decide)
        return _built[1], _built[2]


def build(lookup: Deps, settings: Settings) -> tuple[ReviewDeps, DecideDeps]:
    """Every part once: the cards get their decision buttons from the same licence the
    decisions are guarded by."""
    slack = slack_client(settings)
    if slack is None:
        raise RuntimeError("SLACK_BOT_TOKEN is required to send review cards")
    api = ApprovalsApi(lookup.client)
    licence = Licence(api, enabled=settings.approvals_in_slack)
    review = ReviewDeps(
        api=api,
        lookup=lookup,
        slack=slack,
        cards=make_cards(settings.redis_url, settings.state_dir),
        dedup=make_dedup(settings.redis_url, settings.state_dir),
        notify_submitters=settings.notify_submitters,
        decorate=partial(with_buttons, licence),
    )
    decide = DecideDeps(
        review=review,
        ledger=make_ledger(settings.redis_url, settings.state_dir),
        licence=licence,
        interval_s=settings.approvals_interval_s,
        key=settings.decision_key,
    )
    return review, decide


def start(decide: DecideDeps) -> None:
    """What an operator should hear at once, and the charge powers read now, not at the
    first click."""
    if not decide.licence.enabled:
        return
    if decide.key is None:
        log.warning(
            "deciding in Slack is on but no decision key is set (DECISION_SIGNING_KEY, "
            "SLACK_SIGNING_SECRET or SLACK_APP_TOKEN): every decision will be refused"
        )
    decide.review.submit(decide.licence.license)
