"""What monitoring shows of a task: its ids, never its arguments."""

from __future__ import annotations

import re
from typing import Any

from tasks.contracts.decision import DECIDE_TASK
from tasks.contracts.lookup import LOOKUP_TASK, NOTICE_TASK
from tasks.contracts.preview import PREVIEW_TASK
from tasks.contracts.review import REVIEW_ASK_TASK, REVIEW_EVENT_TASK

#: The fields each task's summary may show: ids and kinds, never a response_url, what a
#: person typed or an event's payload.
_SHOWN: dict[str, tuple[str, ...]] = {
    LOOKUP_TASK: ("request_id", "report"),
    NOTICE_TASK: ("text_key",),
    REVIEW_EVENT_TASK: (),
    REVIEW_ASK_TASK: ("kind", "user_id"),
    DECIDE_TASK: ("step", "what", "user_id", "decision_id"),
    PREVIEW_TASK: ("request_id", "invoice_id", "user_id"),
}
_SHOWABLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9:$_\-]{0,63}")


def safe_argsrepr(task_name: str, args: Any) -> str:
    """What a message's `argsrepr` header says instead of the arguments, for every publish:
    the broker keeps headers, and `celery inspect`, Flower and events show them."""
    shown = _SHOWN.get(task_name)
    first = args[0] if isinstance(args, list | tuple) and len(args) == 1 else None
    if shown is None or not isinstance(first, dict):
        return f"({len(args) if isinstance(args, list | tuple) else '?'} args, not shown)"
    parts = [f"{name}={_showable(first.get(name))}" for name in shown if first.get(name)]
    if isinstance(first.get("ids"), list | tuple):
        parts.append(f"ids={len(first['ids'])}")
    return f"({' '.join([task_name.rsplit('.', 1)[-1], *parts])})"


def safe_kwargsrepr(kwargs: Any) -> str:
    return f"({len(kwargs)} kwargs, not shown)" if kwargs else "{}"


def _showable(value: Any) -> str:
    """An id or kind as sent; anything else (a URL, free text) only as `?`."""
    return value if isinstance(value, str) and _SHOWABLE.fullmatch(value) else "?"
