"""The Celery app is built on first use, not on import: the bot reads the publish bounds
from `tasks.celery_app` without reading broker settings."""

from __future__ import annotations

import subprocess
import sys

from tasks.environment import without_settings

IMPORT_ONLY = """
import sys
import bot.enqueue, tasks.celery_app as c
assert c._built is None, "built at import"
print(c.PUBLISH_STEP_S)
"""
FIRST_USE = """
import tasks, tasks.celery_app as c, tasks.invoices
assert tasks.app is c.get_app() is c.app
print(tasks.invoices.lookup_invoices.name, tasks.app.conf.task_default_queue)
"""


def run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-c", code],
        env={**without_settings(os.environ), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_importing_the_module_reads_no_settings_and_builds_no_app() -> None:
    done = run(IMPORT_ONLY, CELERY_BROKER_URL="not a url")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0.5"


def test_the_first_use_builds_one_app_the_tasks_register_on(tmp_path) -> None:
    done = run(FIRST_USE, STATE_DIR=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["invoicebot.lookup_invoices", "invoicebot"]
    refused = run(FIRST_USE, CELERY_BROKER_URL="not a url", STATE_DIR=str(tmp_path))
    assert refused.returncode != 0 and "CELERY_BROKER_URL is invalid" in refused.stderr
