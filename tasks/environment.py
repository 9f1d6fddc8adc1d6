"""Which environment variables configure a process of ours: the one list that tests, the
demo and the benchmark clear, so a child process reads only the settings it is given."""

from __future__ import annotations

from collections.abc import Mapping

from tasks.settings import Settings

#: What else makes a process of ours behave differently: Bolt and the Slack SDK read
#: `SLACK_*` themselves (OAuth settings, tokens), Celery `CELERY_*`, and the default state
#: folder follows `XDG_STATE_HOME`.
FOREIGN_PREFIXES = ("SLACK_", "CELERY_", "XDG_STATE_HOME")
#: Every setting, by its environment name (read case-insensitively, as pydantic-settings does).
SETTING_NAMES = frozenset(name.upper() for name in Settings.model_fields)


def is_setting(name: str) -> bool:
    """True for an environment variable that configures the bot or a worker."""
    upper = name.upper()
    return upper in SETTING_NAMES or upper.startswith(FOREIGN_PREFIXES)


def without_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` with every setting left out."""
    return {k: v for k, v in environ.items() if not is_setting(k)}
