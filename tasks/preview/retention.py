"""Uploaded previews deleted from Slack when PREVIEW_KEEP_HOURS is up: every worker process
runs the sweep's loop, and one of them at a time takes each turn."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from slack_sdk.errors import SlackApiError

from tasks.preview.deps import PreviewDeps

log = logging.getLogger(__name__)
#: How often the uploaded previews are looked at: a preview lives at most this much
#: longer than PREVIEW_KEEP_HOURS (a quarter of it when that is shorter, at least a second).
SWEEP_EVERY_S = 300.0
MIN_SWEEP_S = 1.0
#: Slack's answers for a file that is gone already: nothing left to delete.
_GONE = {"file_not_found", "file_deleted"}


def sweep_every_s(keep_s: float) -> float:
    return max(MIN_SWEEP_S, min(SWEEP_EVERY_S, keep_s / 4))


def sweep(deps: PreviewDeps, holder: str) -> int:
    """Delete the previews whose time is up; how many went. A failed delete is tried again
    at the next turn."""
    if not deps.uploaded.take_sweep(holder, sweep_every_s(deps.keep_s)):
        return 0
    deleted = 0
    for file_id in deps.uploaded.due(deps.clock()):
        try:
            deps.slack.files_delete(file=file_id)
        except SlackApiError as exc:
            code = str(exc.response.get("error", "error"))
            if code not in _GONE:
                log.warning("could not delete the preview %s (%s); trying later", file_id, code)
                continue
        except OSError as exc:
            log.warning("could not delete the preview %s (%s)", file_id, type(exc).__name__)
            continue
        deps.uploaded.forget(file_id)
        deleted += 1
    if deleted:
        log.info("deleted %d preview(s) from Slack: their time was up", deleted)
    return deleted


def start_sweeping(deps: Callable[[], PreviewDeps | None], stop: threading.Event) -> None:
    """A daemon thread that sweeps now and at every turn until `stop` is set."""
    holder = f"{os.uname().nodename}:{os.getpid()}"

    def loop() -> None:
        while not stop.is_set():
            every = SWEEP_EVERY_S
            try:
                built = deps()
                if built is not None:
                    every = sweep_every_s(built.keep_s)
                    sweep(built, holder)
            except Exception as exc:  # the state store away: the next turn tries again
                log.warning("preview sweep failed: %s", type(exc).__name__)
            stop.wait(every)

    threading.Thread(target=loop, name="preview-sweep", daemon=True).start()
