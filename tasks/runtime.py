"""Per-process resources for the worker: pooled HTTP clients, Slack client, thread pool.

Creating an httpx client costs ~30 ms of CPU (it loads the CA bundle), so each worker
process builds them once and reuses them; a forked child notices the new pid and rebuilds.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from celery import signals

from tasks.ekuaibao.approvals import ApprovalsApi
from tasks.ekuaibao.budget import RateLimitedTransport, RateLimiter, lease_size
from tasks.ekuaibao.budget_redis import RedisRateLimiter
from tasks.ekuaibao.budget_sqlite import SQLiteRateLimiter
from tasks.ekuaibao.client import Credentials, EkuaibaoClient
from tasks.ekuaibao.tokens import FileTokenStore, RedisTokenStore, TokenStore, store_key
from tasks.lean_http import ThreadShardedTransport, http_transport
from tasks.lookup.access import AccessChecker, AccessPolicy
from tasks.lookup.deps import Deps, RetryPolicy
from tasks.lookup.ticket_types import WAVES
from tasks.settings import Settings, load_settings
from tasks.settings.cores import worker_process
from tasks.shared.dedup import make_ledger
from tasks.shared.language import LanguagePicker
from tasks.shared.slack_client import slack_client
from tasks.slack.identity import SlackIdentity
from tasks.slack.replies import Replier
from tasks.state.inflight import make_inflight
from tasks.state.recent import make_recent
from tasks.state.report_cache import make_report_cache

log = logging.getLogger(__name__)
_lock = threading.Lock()
_deps: Deps | None = None
_pid: int | None = None

USER_AGENT = "ekb-invoice-bot/0.1"
#: Lookups (of WORKER_CONCURRENCY) per Ekuaibao connection pool: 4 pools for the default 64.
LOOKUPS_PER_POOL = 16


def _rate_limiter(settings: Settings, key: str) -> RateLimiter:
    """The tenant's Ekuaibao budget, shared by every worker: in Redis, else in SQLite."""
    if settings.redis_url:
        return RedisRateLimiter(
            settings.redis_url, key, settings.ekuaibao_rate_limit, settings.ekuaibao_rate_burst
        )
    return SQLiteRateLimiter(
        settings.state_dir / "ekuaibao-rate.sqlite3",
        settings.ekuaibao_rate_limit,
        settings.ekuaibao_rate_burst,
    )


def _slack_http(lookups: int, shards: int) -> httpx.Client:
    """One post per lookup, the reply: the same linear, thread-sharded pools as Ekuaibao's
    (httpcore's own pool cost a busy worker ~9 % of its GIL time on this one call)."""
    limits = httpx.Limits(
        max_connections=max(8, lookups // shards),
        max_keepalive_connections=max(4, lookups // 4 // shards),
    )
    return httpx.Client(
        transport=ThreadShardedTransport([http_transport(limits) for _ in range(shards)]),
        timeout=httpx.Timeout(10.0, connect=5.0),
        headers={"User-Agent": USER_AGENT},
    )


def _ekuaibao_http(settings: Settings, key: str) -> httpx.Client:
    """Every Ekuaibao call of the worker, within the shared budget."""
    timeout = httpx.Timeout(
        settings.ekuaibao_timeout_s, connect=min(5.0, settings.ekuaibao_timeout_s)
    )
    lookups = settings.worker_concurrency
    shards = max(1, lookups // LOOKUPS_PER_POOL)
    per_pool = httpx.Limits(
        max_connections=max(16, 4 * lookups // shards),
        max_keepalive_connections=max(8, 2 * lookups // shards),
    )
    transport = RateLimitedTransport(
        ThreadShardedTransport([http_transport(per_pool) for _ in range(shards)]),
        _rate_limiter(settings, key),
        lease=lease_size(settings.ekuaibao_rate_limit, settings.ekuaibao_rate_burst),
    )
    return httpx.Client(
        transport=transport,
        base_url=settings.ekuaibao_base_url,
        timeout=timeout,
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        headers={"User-Agent": USER_AGENT},
    )


def build_deps(settings: Settings) -> Deps:
    if settings.ekuaibao_app_key is None or settings.ekuaibao_app_security is None:
        raise RuntimeError("EKUAIBAO_APP_KEY and EKUAIBAO_APP_SECURITY are required")
    app_key = settings.ekuaibao_app_key.get_secret_value()
    # A lookup makes up to 3 Ekuaibao calls at once (lines, links, masters), 2 of them on
    # the pool, plus one wave of ticket-type probes (lookup/ticket_types.py): room for
    # every lookup the worker runs, in a few linear connection pools.
    lookups = settings.worker_concurrency
    pool_threads = max(64, (3 + max(len(w) for w in WAVES)) * lookups)
    shards = max(1, lookups // LOOKUPS_PER_POOL)
    key = store_key(settings.ekuaibao_base_url, app_key)
    ekuaibao_http = _ekuaibao_http(settings, key)
    slack_http = _slack_http(lookups, shards)
    tokens: TokenStore = (
        RedisTokenStore(settings.redis_url, key)
        if settings.redis_url
        else FileTokenStore(settings.state_dir, key)
    )
    executor = ThreadPoolExecutor(max_workers=pool_threads, thread_name_prefix="ekuaibao")
    client = EkuaibaoClient(
        ekuaibao_http,
        Credentials(app_key, settings.ekuaibao_app_security.get_secret_value()),
        tokens,
    )
    slack = slack_client(settings)
    identity = SlackIdentity(slack)
    return Deps(
        access=AccessChecker(
            AccessPolicy.from_settings(settings), slack, client, identity=identity
        ),
        identity=identity,
        ledger=make_ledger(settings.redis_url, settings.state_dir),
        reports=make_report_cache(settings.redis_url, key, settings.state_dir),
        staff=ApprovalsApi(client).staff,
        recent=make_recent(settings.redis_url, settings.state_dir),
        client=client,
        replier=Replier(
            slack_http, slack, response_url_prefixes=settings.slack_response_url_prefixes
        ),
        executor=executor,
        language=LanguagePicker(settings.bot_language, slack),
        retry=RetryPolicy(settings.ekuaibao_retry_base_s, settings.ekuaibao_retry_window_s),
        inflight=make_inflight(settings.redis_url, settings.state_dir, settings.lookups_per_person),
        previews=settings.previews,
    )


def log_startup_warnings() -> None:
    """What an operator should know about the access policy: once per worker, from its
    main process, not once per pool process, and from the first of `invoicebot worker`'s
    Celery processes only."""
    if worker_process()[0] != 1:
        return
    access = deps().access
    for warning in access.startup_warnings() if access else ():
        log.warning("%s", warning)


def resident_mb(pid: int | str = "self", proc: Path = Path("/proc")) -> float | None:
    """A process's resident memory (VmRSS) in MB; None where /proc does not say (not Linux)."""
    try:
        status = (proc / str(pid) / "status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            fields = line.split()
            if len(fields) >= 2 and fields[1].isdigit():
                return int(fields[1]) / 1024  # kB
    return None


@signals.worker_ready.connect
def _say_memory(**_: Any) -> None:
    """Each Celery process says what it costs, once it is ready and its clients are built
    (so the number is what a process added per core adds)."""
    deps()
    n, total = worker_process()
    rss = resident_mb()
    memory = f"{rss:.0f} MB resident" if rss is not None else "memory unknown"
    log.info("worker process %d/%d (pid %d) ready: %s", n, total, os.getpid(), memory)


def deps() -> Deps:
    """This process's dependencies, built on first use (or after a fork)."""
    global _deps, _pid
    with _lock:
        if _deps is None or _pid != os.getpid():
            _deps = build_deps(load_settings(require=("ekuaibao_app_key", "ekuaibao_app_security")))
            _pid = os.getpid()
        return _deps
