"""The Celery side. `celery -A tasks worker` finds `tasks.app`, built on first access.

Lazy, so importing a pure module (the renderer, the parser's limits) never builds the
Celery app or reads broker settings.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name in ("app", "celery"):
        from tasks.celery_app import app

        return app
    raise AttributeError(name)
