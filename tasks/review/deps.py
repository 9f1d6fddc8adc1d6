"""What the review use case needs: the review API, the lookup's own parts, Slack, the cards."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient

from tasks.ekuaibao.approval_models import Flow
from tasks.ekuaibao.approvals import ApprovalsApi
from tasks.lookup.deps import Deps
from tasks.shared.dedup import Dedup
from tasks.slack.identity import SlackIdentity
from tasks.state.review_cards import Cards


@dataclass
class ReviewDeps:
    api: ApprovalsApi
    lookup: Deps
    slack: WebClient
    cards: Cards
    dedup: Dedup
    notify_submitters: bool = False
    clock: Callable[[], float] = time.time
    #: Adds the decision buttons to a card (tasks.review.decide.buttons), when deciding here is on.
    decorate: Callable[[dict[str, Any], Flow, str, str | None], dict[str, Any]] | None = None
    #: Who may act here (the lookup's own, so the installation is read once a process).
    identity: SlackIdentity = field(init=False)

    def __post_init__(self) -> None:
        self.identity = self.lookup.identity or SlackIdentity(self.slack)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        return self.lookup.executor.submit(fn, *args)
