"""The preview room's composition root: over the lookup's own deps (`tasks.runtime`), once
a process; None when previews are not offered (PREVIEWS is not `all`)."""

from __future__ import annotations

import threading

import httpx

from tasks import runtime
from tasks.preview.deps import PreviewDeps
from tasks.settings import load_settings
from tasks.shared.slack_client import slack_client
from tasks.state.previews import make_uploaded_previews

#: A file's download: connect quickly, and leave it once it stalls.
DOWNLOAD_TIMEOUT = httpx.Timeout(20.0, connect=5.0)
_lock = threading.Lock()
_built: tuple[int, PreviewDeps | None] | None = None


def preview_deps() -> PreviewDeps | None:
    global _built
    lookup = runtime.deps()
    with _lock:
        if _built is None or _built[0] != id(lookup):
            settings = load_settings(require=("ekuaibao_app_key", "ekuaibao_app_security"))
            slack = slack_client(settings)
            built = None
            if settings.previews == "all" and slack is not None:
                built = PreviewDeps(
                    lookup=lookup,
                    slack=slack,
                    files=httpx.Client(timeout=DOWNLOAD_TIMEOUT, follow_redirects=False),
                    uploaded=make_uploaded_previews(settings.redis_url, settings.state_dir),
                    keep_s=settings.preview_keep_hours * 3600,
                )
            _built = (id(lookup), built)
        return _built[1]
