"""Delivering a lookup's answer exactly once, and the audit line that records it."""

from __future__ import annotations

import logging

from tasks.contracts import LookupRequest, ReplyTarget
from tasks.lookup.deps import Deps
from tasks.shared import acks
from tasks.shared.blocks import Message
from tasks.shared.dedup import Ledger
from tasks.slack.replies import ReplyFailed

log = logging.getLogger(__name__)
#: One line per answered request: who, where, what, the access decision, the outcome.
audit_log = logging.getLogger("invoicebot.audit")


#: How long a worker may take to post a reply before another may try (it died meanwhile).
POSTING_CLAIM_S = 20
#: How long a delivered reply is remembered: longer than any redelivery can come.
ANSWERED_S = 24 * 3600


class AlreadyPosting(Exception):
    """Another delivery of this request is posting its reply right now (or died doing so)."""


def fail(deps: Deps, request: LookupRequest, text: str, outcome: str) -> None:
    """Errors are always private, whatever the request's mode."""
    delivered = deliver(deps, request, [acks.simple(text)], final=True, private=True)
    deps.replier.react(request, remove="eyes", add="x")
    audit(request, "error: " + outcome + ("" if delivered else " (reply not delivered)"))


def audit(request: LookupRequest, outcome: str, access: str = "allowed") -> None:
    """Ids and Slack ids only: no response_url, token or signed link ever reaches this line."""
    audit_log.info(
        "request=%s user=%s team=%s channel=%s via=%s mode=%s ids=%s report=%s access=%s "
        "outcome=%s",
        request.request_id,
        request.user_id or "-",
        request.team_id or "-",
        request.channel_id or "-",
        request.reply_via,
        request.mode,
        ",".join(request.ids) or "-",
        request.report or "-",
        access,
        outcome,
    )


def deliver(
    deps: Deps,
    target: ReplyTarget,
    messages: list[Message],
    *,
    final: bool,
    private: bool = False,
) -> bool:
    """Post once. A final reply is claimed in the ledger first, so a redelivered task (its
    worker was killed) neither answers twice nor, if the first died mid-post, never."""
    in_channel = isinstance(target, LookupRequest) and target.mode == "share" and not private
    request_id = getattr(target, "request_id", "-")
    ledger = deps.ledger if final and isinstance(target, LookupRequest) else None
    if ledger is not None:
        held = ledger.claim(request_id, POSTING_CLAIM_S)
        if held == "done":
            log.info("lookup %s was already answered; not answering twice", request_id)
            return True
        if held is not None:
            raise AlreadyPosting(request_id)
    try:
        deps.replier.deliver(target, messages, in_channel=in_channel and final)
        return True
    except ReplyFailed as exc:
        log.error("lookup %s: could not deliver the reply: %s", request_id, exc)
        return False
    finally:
        if ledger is not None:
            _finish(ledger, request_id)


def _finish(ledger: Ledger, request_id: str) -> None:
    """The reply is out: a ledger that fails now must not make the task retry (and answer
    again once the claim lapses); without the mark, the claim still holds off redeliveries
    for a while."""
    try:
        ledger.finish(request_id, ANSWERED_S)
    except Exception as exc:
        log.error(
            "lookup %s: answered, but could not record it: %s", request_id, type(exc).__name__
        )
