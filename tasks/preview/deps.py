"""What a preview needs, given once per worker process (tasks/preview/assembly.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from slack_sdk import WebClient

from tasks.lookup.deps import Deps
from tasks.state.previews import UploadedPreviews


@dataclass
class PreviewDeps:
    #: The lookup's own: the same client, budget, access checks and reply ledger.
    lookup: Deps
    slack: WebClient
    #: Downloads from Ekuaibao's file store: no redirects, its own timeouts.
    files: httpx.Client
    uploaded: UploadedPreviews
    #: PREVIEW_KEEP_HOURS in seconds.
    keep_s: float
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
