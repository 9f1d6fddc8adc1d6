"""What one lookup does, independent of Celery: fetch, assemble, render, reply once.

Returns the delay before a retry when Ekuaibao is failing and time is left; the Celery task
turns that into `self.retry`. Every other path ends in exactly one final reply.
"""

from __future__ import annotations

import contextvars
import logging
import random
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from tasks import ratelimit, render
from tasks.access import AccessChecker
from tasks.contracts import REPORT_PAGE_SIZE, LookupRequest, Notice, ReplyTarget
from tasks.dedup import STATE_ERRORS, Ledger
from tasks.ekuaibao.client import EkuaibaoClient, InvoiceData
from tasks.ekuaibao.errors import (
    BadRequest,
    BudgetSpent,
    CredentialsRejected,
    RateLimited,
    Unavailable,
)
from tasks.ekuaibao.masters import LAYOUTS, InvoiceMaster, ReportInvoiceRef
from tasks.ekuaibao.models import Attachment, LineItem
from tasks.language import LanguagePicker
from tasks.lookup import LookupResult, ReportPage, assemble
from tasks.reply import Replier, ReplyFailed
from tasks.report_cache import ReportCache
from tasks.texts import Texts, texts_for

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")
#: One line per answered request: who, where, what, the access decision, the outcome.
audit_log = logging.getLogger("invoicebot.audit")

MAX_BACKOFF_S = 300.0
#: Report codes look like B23001249; anything else is tried as a report id first.
_REPORT_CODE = re.compile(r"^[A-Za-z]{1,3}\d{6,}$")


class ReportNotFound(Exception):
    pass


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float = 2.0
    window_s: float = 25 * 60

    def delay(self, attempt: int, asked: float | None = None) -> float:
        """Exponential backoff with jitter; never shorter than what Ekuaibao asked for."""
        jitter: float = random.uniform(0.5, 1.0)  # noqa: S311 (not cryptographic)
        delay = min(self.base_s * 2.0**attempt, MAX_BACKOFF_S) * jitter
        return max(delay, asked or 0.0)


#: How long a worker may take to post a reply before another may try (it died meanwhile).
POSTING_CLAIM_S = 20
#: How long a delivered reply is remembered: longer than any redelivery can come.
ANSWERED_S = 24 * 3600


class AlreadyPosting(Exception):
    """Another delivery of this request is posting its reply right now (or died doing so)."""


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
    clock: Callable[[], float] = time.time

    def texts(self, target: ReplyTarget) -> Texts:
        return texts_for(target.language or self.language.for_user(target.user_id))


def handle_lookup(request: LookupRequest, deps: Deps, attempt: int = 0) -> float | None:
    """Run one attempt. Returns seconds until the next attempt, or None when answered."""
    try:
        return _attempt(request, deps, attempt)
    except AlreadyPosting:
        log.warning(
            "lookup %s: another delivery is posting its reply; checking again later",
            request.request_id,
        )
        return POSTING_CLAIM_S + 1.0


def _attempt(request: LookupRequest, deps: Deps, attempt: int) -> float | None:
    started = deps.clock()
    texts, ref = deps.texts(request), request.request_id[:8]
    if deps.ledger is not None and deps.ledger.state(request.request_id) == "done":
        log.info("lookup %s was already answered; not answering twice", request.request_id)
        return None
    if attempt == 0:
        deps.replier.react(request, add="eyes")
    queued = _Queued(request, deps, texts)
    try:
        refusal = _refusal(request, deps, texts)
        if refusal is not None:
            return None
        token = ratelimit.waiting.set(queued.waiting())
        try:
            result = _only_what_they_may_see(request, deps, fetch(request, deps))
        finally:
            ratelimit.waiting.reset(token)
    except Unavailable as exc:
        asked = exc.retry_after_s if isinstance(exc, RateLimited) else None
        if isinstance(exc, BudgetSpent):  # come back when a slot is within reach
            asked = max(1.0, exc.wait_s - ratelimit.MAX_WAIT_S / 2)
        delay = deps.retry.delay(attempt, asked)
        give_up_at = min(request.deadline, request.received_at + deps.retry.window_s)
        if started + delay < give_up_at:
            log.warning(
                "lookup %s attempt %d: %s; retrying in %.1f s",
                request.request_id,
                attempt + 1,
                exc,
                delay,
            )
            if attempt == 0 and isinstance(exc, BudgetSpent):
                queued.tell(delay + ratelimit.MAX_WAIT_S, exc.ahead)
            elif attempt == 0:
                minutes = max(1, round((give_up_at - started) / 60))
                _deliver(
                    deps,
                    request,
                    [render.simple(texts.retrying.format(minutes=minutes))],
                    final=False,
                )
            return delay
        log.error(
            "lookup %s: giving up after %d attempts: %s", request.request_id, attempt + 1, exc
        )
        minutes = max(1, round((started - request.received_at) / 60))
        _fail(
            deps,
            request,
            texts.unavailable.format(minutes=minutes, ref=ref),
            "ekuaibao unavailable",
        )
        return None
    except ReportNotFound:
        log.info("lookup %s: report %s not found", request.request_id, request.report)
        code = f"`{render.escape(request.report)}`"
        if deps.access is not None and deps.access.policy.mode == "ekuaibao":
            text = texts.not_found_or_denied.format(count=1, ids=code)
        else:
            text = texts.report_not_found.format(code=code)
        _fail(deps, request, text, "report not found (or not theirs)")
        return None
    except CredentialsRejected as exc:
        log.error("lookup %s: %s (admin: check the Ekuaibao settings)", request.request_id, exc)
        _fail(deps, request, texts.credentials_rejected.format(ref=ref), "credentials rejected")
        return None
    except BadRequest as exc:
        log.error("lookup %s: %s", request.request_id, exc)
        reason = render.escape(str(exc).split(": ", 1)[-1])
        _fail(deps, request, texts.bad_request.format(reason=reason, ref=ref), "ekuaibao refused")
        return None
    except STATE_ERRORS:
        raise  # the task tries again shortly: the state store is away, the lookup is fine
    except Exception:
        log.exception("lookup %s failed unexpectedly", request.request_id)
        _fail(deps, request, texts.internal_error.format(ref=ref), "internal error")
        return None
    controls = render.Controls(
        owner=request.owner_id or request.user_id,
        mode=request.mode,
        report=request.report,
        page=request.page,
        shared_by=request.user_id,
    )
    try:
        messages = render.lookup_messages(result, texts, controls)
    except Exception:  # Ekuaibao data the renderer could not handle: still one clear answer
        log.exception("lookup %s: could not render the reply", request.request_id)
        _fail(deps, request, texts.internal_error.format(ref=ref), "render error")
        return None
    if request.part is not None:
        messages = [messages[min(request.part, len(messages) - 1)]]
    delivered = _deliver(deps, request, messages, final=True)
    deps.replier.react(request, remove="eyes", add="white_check_mark" if delivered else "x")
    audit(
        request,
        f"answered found={len(result.invoices)} not_found={len(result.not_found)}"
        + ("" if delivered else " (reply not delivered)"),
    )
    log.info(
        "lookup %s: %d ids%s, %d found, %d not found, %d message(s), %.0f ms",
        request.request_id,
        len(result.requested),
        f" (report {request.report} page {request.page})" if request.report else "",
        len(result.invoices),
        len(result.not_found),
        len(messages),
        (deps.clock() - started) * 1000,
    )
    return None


def handle_notice(notice: Notice, deps: Deps) -> None:
    texts = deps.texts(notice)
    _deliver(deps, notice, [render.simple(getattr(texts, notice.text_key))], final=True)


class _Queued:
    """Tells the person once, and truthfully, that their lookup waits in our own line for
    the shared Ekuaibao budget (not that Ekuaibao is slow)."""

    def __init__(self, request: LookupRequest, deps: Deps, texts: Texts) -> None:
        self._request, self._deps, self._texts = request, deps, texts
        self._told = False
        self._lock = threading.Lock()

    def waiting(self) -> ratelimit.Waiting:
        return ratelimit.Waiting(self._request.request_id, self.tell)

    def tell(self, wait_s: float, ahead: int) -> None:
        with self._lock:
            if self._told:
                return
            self._told = True
        log.info(
            "lookup %s: waits %.1f s for the Ekuaibao budget, %d lookups ahead",
            self._request.request_id,
            wait_s,
            ahead,
        )
        text = self._texts.queued.format(ahead=ahead, seconds=max(1, round(wait_s)))
        _deliver(self._deps, self._request, [render.simple(text)], final=False)


def _submit(pool: Executor, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
    """`pool.submit` that carries the lookup's context (whose Ekuaibao calls these are)."""
    context = contextvars.copy_context()
    return pool.submit(lambda: context.run(fn, *args, **kwargs))


# -- access ----------------------------------------------------------------------------


def _refusal(request: LookupRequest, deps: Deps, texts: Texts) -> str | None:
    """The gate: may this person ask, and may finance data be posted where they asked?"""
    if deps.access is None:
        return None
    gate = deps.access.may_ask(request.user_id, request.channel_id)
    if not gate.allowed:
        _refuse(deps, request, texts.not_allowed, f"denied: {gate.reason}")
        return gate.reason
    if request.channel_id:
        where = deps.access.may_post_in(request.channel_id)
        unverifiable = where.reason == "could not check the channel"
        # A private answer where the bot cannot look (say, a private channel it is not in)
        # is still fine; a post the whole channel sees is not.
        if not where.allowed and not (unverifiable and request.mode != "share"):
            _refuse(deps, request, texts.shared_channel, f"denied: {where.reason}")
            return where.reason
    return None


def _refuse(deps: Deps, request: LookupRequest, text: str, access: str) -> None:
    delivered = _deliver(deps, request, [render.simple(text)], final=True, private=True)
    deps.replier.react(request, remove="eyes", add="x")
    audit(request, "refused" + ("" if delivered else " (reply not delivered)"), access=access)


def _only_what_they_may_see(
    request: LookupRequest, deps: Deps, result: LookupResult
) -> LookupResult:
    """ekuaibao mode: invoices of reports the person neither submitted nor approves are
    listed as "not found, or not yours", exactly like ids Ekuaibao does not know."""
    if deps.access is None or deps.access.policy.mode != "ekuaibao":
        return result
    masters = [inv.master for inv in result.invoices if inv.master is not None]
    decisions = deps.access.may_see(request.user_id, masters, requested_ids=result.requested)
    allowed = tuple(
        inv
        for inv in result.invoices
        if decisions.get(inv.invoice_id) is not None and decisions[inv.invoice_id].allowed
    )
    shown = {inv.invoice_id for inv in allowed}
    if result.report is not None:
        if not allowed:  # neither its invoices nor its header: as if there were no report
            raise ReportNotFound(request.report)
        hidden: tuple[str, ...] = ()  # never list ids from inside a report they can't see
    else:
        hidden = tuple(i for i in result.requested if i not in shown)
    return LookupResult(
        result.requested, allowed, hidden, result.fetched_at, result.report, hides_denials=True
    )


# -- fetching --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Selection:
    """The invoices one reply shows, with the §5 type of each (from the report search)."""

    ids: tuple[str, ...]
    types: dict[str, str]

    @classmethod
    def of_refs(cls, refs: list[ReportInvoiceRef]) -> _Selection:
        ids = tuple(dict.fromkeys(ref.invoice_id for ref in refs))
        return cls(ids, {ref.invoice_id: ref.invoice_type or "invoice" for ref in refs})


class _Fetch:
    """Lines, links and invoice masters of a selection, requested at the same time."""

    def __init__(self, deps: Deps, chosen: _Selection, *, links_here: bool) -> None:
        client, pool = deps.client, deps.executor
        self.chosen = chosen
        self.fetched_at = deps.clock()
        line_ids = [i for i in chosen.ids if chosen.types[i] == "invoice"]
        by_type: dict[str, list[str]] = defaultdict(list)
        for invoice_id in chosen.ids:
            by_type[chosen.types[invoice_id]].append(invoice_id)
        self._lines: Future[list[LineItem]] | None = (
            _submit(pool, client.line_items, line_ids) if line_ids else None
        )
        self._masters = [
            _submit(pool, client.invoice_masters, t, i) for t, i in by_type.items() if t in LAYOUTS
        ]
        for unknown in set(by_type) - set(LAYOUTS):  # e.g. a type newer than this bot
            log.warning("no invoice master search for unknown invoice type %r", unknown[:40])
        self._links: Future[list[Attachment]] | list[Attachment]
        if links_here:  # meanwhile, on this thread: one thread hand-off fewer
            self._links = client.attachments(chosen.ids, self.fetched_at)
        else:
            self._links = _submit(pool, client.attachments, chosen.ids, self.fetched_at)

    def result(self) -> tuple[InvoiceData, list[InvoiceMaster]]:
        lines = self._lines.result() if self._lines else []
        links = self._links if isinstance(self._links, list) else self._links.result()
        masters: list[InvoiceMaster] = []
        for future in self._masters:
            try:
                masters.extend(future.result())
            except BadRequest as exc:  # headers are a bonus; the lines and links still help
                log.warning("invoice master search refused: %s", exc)
        return InvoiceData(tuple(lines), tuple(links), self.fetched_at), masters


def fetch(request: LookupRequest, deps: Deps) -> LookupResult:
    """Everything for one reply, with the independent Ekuaibao calls made concurrently."""
    if request.report:
        return _fetch_report(request, deps)
    chosen = _Selection(request.ids, dict.fromkeys(request.ids, "invoice"))
    data, masters = _Fetch(deps, chosen, links_here=True).result()
    return assemble(chosen.ids, data, masters)


def _fetch_report(request: LookupRequest, deps: Deps) -> LookupResult:
    """The report search, then its page of invoices; when the report was seen lately, the
    invoices it held then are fetched during the search and kept only if still the same."""
    first = request.page * REPORT_PAGE_SIZE
    early: _Fetch | None = None
    cached = _recall(deps, request.report)
    if cached is not None:
        search = _submit(deps.executor, _report_refs, deps.client, request.report)
        guess = _Selection.of_refs(cached[first : first + REPORT_PAGE_SIZE])
        early = _Fetch(deps, guess, links_here=False) if guess.ids else None
        refs = search.result()
    else:
        refs = _report_refs(deps.client, request.report)
    _remember(deps, request.report, refs)
    chosen_refs = refs[first : first + REPORT_PAGE_SIZE]
    chosen = _Selection.of_refs(chosen_refs)
    if early is not None and early.chosen == chosen:
        data, masters = early.result()
    else:
        data, masters = _Fetch(deps, chosen, links_here=True).result()
    info = next(
        (
            m.report
            for m in masters
            if m.report is not None and request.report in (m.report.code, m.report.flow_id)
        ),
        None,
    )
    page = ReportPage(request.report, info, len(refs), first, len(chosen_refs), request.page)
    return assemble(chosen.ids, data, masters, page)


def _recall(deps: Deps, report: str) -> list[ReportInvoiceRef] | None:
    if deps.reports is None:
        return None
    try:
        return deps.reports.get(report)
    except Exception as exc:  # a speed-up only: without it, the lookup is just slower
        log.warning("report cache unavailable: %s", type(exc).__name__)
        return None


def _remember(deps: Deps, report: str, refs: list[ReportInvoiceRef]) -> None:
    if deps.reports is None:
        return
    try:
        deps.reports.put(report, refs)
    except Exception as exc:
        log.warning("report cache unavailable: %s", type(exc).__name__)


def _report_refs(client: EkuaibaoClient, report: str) -> list[ReportInvoiceRef]:
    kinds: tuple[str, str] = ("code", "id") if _REPORT_CODE.match(report) else ("id", "code")
    for kind in kinds:
        found = client.report_invoices(kind, [report])  # type: ignore[arg-type]
        if found.get(report):
            return found[report]
    raise ReportNotFound(report)


# -- replying --------------------------------------------------------------------------


def _fail(deps: Deps, request: LookupRequest, text: str, outcome: str) -> None:
    """Errors are always private, whatever the request's mode."""
    delivered = _deliver(deps, request, [render.simple(text)], final=True, private=True)
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


def _deliver(
    deps: Deps,
    target: ReplyTarget,
    messages: list[render.Message],
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
