"""Readiness: can this bot queue a lookup right now? A fresh broker round trip, cached briefly.

Liveness (`/livez`) only says the process answers; readiness (`/readyz`, `/healthz`) is
what a load balancer should route on, since a bot without its broker can only apologise.
"""

from __future__ import annotations

import logging
import threading
import time

from celery import Celery

from tasks.redact import redact

log = logging.getLogger(__name__)

#: Probes come every few seconds from each load balancer; one broker round trip serves them.
CACHE_S = 2.0


class BrokerProbe:
    def __init__(self, celery: Celery, timeout_s: float = 1.0) -> None:
        self._celery = celery
        self._timeout = timeout_s
        self._lock = threading.Lock()
        self._checked_at = -CACHE_S
        self._ready = False

    def __call__(self) -> bool:
        with self._lock:  # concurrent probes wait for the one round trip in flight
            if time.monotonic() - self._checked_at >= CACHE_S:
                ready = self._check()
                if ready != self._ready:
                    log.log(
                        logging.INFO if ready else logging.WARNING,
                        "the broker is %s",
                        "reachable again" if ready else "not reachable: /readyz says 503",
                    )
                self._ready, self._checked_at = ready, time.monotonic()
            return self._ready

    def _check(self) -> bool:
        connection = self._celery.connection_for_write()
        connection.connect_timeout = self._timeout
        try:
            connection.ensure_connection(max_retries=0)
            connection.default_channel  # noqa: B018  Redis pings here; AMQP opens a channel
            return True
        except Exception as exc:
            log.debug("readiness probe failed: %s", redact(str(exc))[:200])
            return False
        finally:
            connection.release()
