"""One Redis client, so one connection pool, per process and URL, shared by every store.

Every store (reply ledger, dedup, in-flight, budget, id memory, recent lookups, token,
review cards and decisions) takes its client here, so a process holds one pool to a server
rather than one per store. redis-py's pool is safe to share between threads and green
threads, and rebuilds itself in a forked child.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis

#: Shared state answers in microseconds; a store that has not answered in this long is away,
#: and the caller's own retry (the task's, the token's lock) decides what happens next.
TIMEOUT_S = 2.0

_clients: dict[str, redis.Redis] = {}
_lock = threading.Lock()


def shared_redis(url: str) -> redis.Redis:
    """This process's client for `url`, made on first use."""
    with _lock:
        client = _clients.get(url)
        if client is None:
            import redis

            client = redis.Redis.from_url(
                url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S
            )
            _clients[url] = client
        return client
