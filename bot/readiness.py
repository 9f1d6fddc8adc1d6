"""Readiness: can this bot queue a lookup right now? A fresh broker round trip, cached briefly.

Liveness (`/livez`) only says the process answers; readiness (`/readyz`, `/healthz`) is
what a load balancer should route on, since a bot without its broker can only apologise.
"""

from __future__ import annotations

import logging
import threading
import time

from tasks.broker.check import broker_check, describe

log = logging.getLogger(__name__)

#: Probes come every few seconds from each load balancer; one broker round trip serves them.
CACHE_S = 2.0


class BrokerProbe:
    def __init__(self, broker_url: str, timeout_s: float = 1.0) -> None:
        self._url = broker_url
        self._timeout = timeout_s
        self._lock = threading.Lock()
        self._checked_at = -CACHE_S
        self._ready = False

    def __call__(self) -> bool:
        with self._lock:  # concurrent probes wait for the one round trip in flight
            if time.monotonic() - self._checked_at >= CACHE_S:
                check = broker_check(self._url, self._timeout)
                if check.ok != self._ready:
                    if check.ok:
                        log.info("the broker is reachable")
                    else:
                        log.warning("%s; /readyz says 503", describe(check, self._url))
                self._ready, self._checked_at = check.ok, time.monotonic()
            return self._ready
