"""The Celery app: JSON only, no result backend, late acks, and our own logging setup.

Built on first use of `app` (a task module's `@app.task`, `celery -A tasks`, the bot's
publisher), not when this module is imported: the bot reads `PUBLISH_STEP_S` and `QUEUE`
here without reading broker settings or building an app.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from celery import Celery, signals
from kombu import Queue
from pydantic import ValidationError

from tasks.broker import embedded, redis_transport
from tasks.contracts import safe_argsrepr, safe_kwargsrepr
from tasks.redact import configure_logging
from tasks.settings import BrokerSettings, fail

QUEUE = "invoicebot"
#: Lookups asked by message (`LookupRequest.by_message`: DMs, mentions), which one script
#: can send by the hundred: a lane of their own, which the worker takes turns with, so a
#: flood of them never stands between a slash command, a card or a decision and a worker.
BULK_QUEUE = "invoicebot.bulk"
#: Embedded broker: how often an idle worker looks for new tasks.
EMBEDDED_POLLING_S = 0.02


def broker_settings() -> BrokerSettings:
    try:
        return BrokerSettings()
    except ValidationError as exc:
        error = exc.errors()[0]
        fail(f"setting {str(error['loc'][0]).upper()} is invalid: {error['msg']}")


def create_app(settings: BrokerSettings) -> Celery:
    embedded.register()
    app = Celery(
        "invoicebot",
        broker=settings.broker_url,
        include=["tasks.invoices", "tasks.review.tasks", "tasks.preview.tasks"],
    )
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_backend=None,
        task_ignore_result=True,
        task_store_errors_even_if_ignored=False,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_default_queue=QUEUE,
        task_queues=(Queue(QUEUE), Queue(BULK_QUEUE)),
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        broker_connection_retry_on_startup=True,
        # The embedded broker has no broadcast: remote control would only add idle polling.
        worker_enable_remote_control=not settings.is_embedded,
        broker_connection_timeout=2.0,
        # One retry, at once: it mends a connection the broker dropped while we were idle.
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_max": 0},
        # Either way Celery drops a failed task's message (a reject without requeue), so
        # the lookup task never fails: see `tasks.invoices.lookup_invoices`.
        task_acks_on_failure_or_timeout=False,
        broker_transport_options=_transport_options(settings),
    )
    if settings.broker_is_redis:
        app.conf.broker_transport = redis_transport.TRANSPORT
    return app


#: Above the largest WORKER_CONCURRENCY the settings accept (256), with room to spare.
MAX_BROKER_CONNECTIONS = 300


def _transport_options(settings: BrokerSettings) -> dict[str, object]:
    if settings.is_embedded:
        return {"polling_interval": EMBEDDED_POLLING_S}
    if settings.broker_is_redis:
        return {
            # Retries wait up to 5 min in the worker; Redis must not redeliver them meanwhile,
            # but a dead worker's lookups must come back well inside the 30-minute reply window.
            "visibility_timeout": settings.broker_visibility_timeout_s,
            # kombu sweeps for abandoned messages every interval x throttle seconds (100 s by
            # default); sweep every 5 s instead.
            "unacked_restore_interval": 5,
            "unacked_restore_throttle": 1,
            # a Redis that vanished without closing the connection must not hang a worker
            "socket_timeout": 10,
            "socket_connect_timeout": 5,
            # Every green thread acks (and the consumer and lease renewal need one more each)
            # through the channel's pool: kombu's default of 10 made acks fail with "Too many
            # connections" under load, leaving answered lookups to be redelivered.
            "max_connections": MAX_BROKER_CONNECTIONS,
        }
    return {}


#: The bot's whole publish (connect, send, one retry) must end inside Slack's 3-second ack,
#: with time left to answer "can't queue": each broker round trip gets this long.
PUBLISH_STEP_S = 0.5


def bound_publishing(app: Celery, settings: BrokerSettings) -> None:
    """The bot only publishes: give every broker step a short timeout, so a broker that
    accepts connections but never answers costs at most three steps (the send, then the
    reconnect kombu tries: connect and one more try).

    AMQP publishes are also confirmed: without confirms a publish into a hung broker's
    socket buffer "succeeds" and the lookup is silently lost.
    """
    app.conf.broker_connection_timeout = PUBLISH_STEP_S
    options = dict(app.conf.broker_transport_options or {})
    if settings.broker_is_redis:
        options.update(socket_timeout=PUBLISH_STEP_S, socket_connect_timeout=PUBLISH_STEP_S)
    elif settings.is_amqp:
        options.update(confirm_publish=True)
    app.conf.broker_transport_options = options


_built: tuple[BrokerSettings, Celery] | None = None
_building = threading.Lock()

if TYPE_CHECKING:
    app: Celery


def _app_and_settings() -> tuple[BrokerSettings, Celery]:
    """The process's one app and the settings it was built from, made on first call."""
    global _built
    with _building:
        if _built is None:
            settings = broker_settings()
            _built = (settings, create_app(settings))
        return _built


def get_app() -> Celery:
    return _app_and_settings()[1]


def __getattr__(name: str) -> Any:
    """`from tasks.celery_app import app` builds the app then, and only then."""
    if name == "app":
        return get_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@signals.setup_logging.connect
def _logging(**_: Any) -> None:
    """Replace Celery's logging with ours: same format, secrets redacted."""
    configure_logging(_app_and_settings()[0].log_level)
    logging.getLogger("celery.worker.strategy").setLevel(logging.WARNING)
    # "Task … succeeded in …" repeats our own line per lookup; failures still show (ERROR)
    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)


@signals.before_task_publish.connect
def _safe_reprs(sender: str | None = None, body: Any = None, headers: Any = None, **_: Any) -> None:
    """Every publish in this process (a first send, a retry, any future task) carries only
    ids in `argsrepr`/`kwargsrepr`: a retry is rebuilt from the request and would otherwise
    get Celery's repr of the arguments, response_url, comment and event payload included.

    The signal's `headers` are the message's own, changed in place before it is sent.
    """
    if not isinstance(headers, dict) or "argsrepr" not in headers:
        return  # not task protocol 2: nothing of the arguments is in the headers
    headers["argsrepr"] = headers["kwargsrepr"] = "(not shown)"  # should the next lines fail
    args, kwargs = body[:2] if isinstance(body, list | tuple) and len(body) == 3 else ((), {})
    headers["argsrepr"] = safe_argsrepr(sender or "", args)
    headers["kwargsrepr"] = safe_kwargsrepr(kwargs)
