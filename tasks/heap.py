"""The garbage collector, set for a long-running service process.

Start-up leaves ~90k long-lived objects (Celery, kombu, pydantic's schemas, Bolt,
slack_sdk) that every full collection walks while it stops every thread: 50–70 ms in a
busy worker, a tail-latency spike for each lookup in flight (e2e p99 at 100 lookups/s
fell from 281 to 230 ms when they were frozen; docs/benchmarks.md). A lookup's own objects
die by reference counting, so the collector still runs for what little is cyclic.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Call once start-up is done (and again in a forked child): collect, then freeze."""
    gc.collect()
    gc.freeze()
