"""What both the bot and the worker need to reach the queue and the shared state."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "invoicebot"


class BrokerSettings(BaseSettings):
    """What both the bot and the worker need to reach the queue.

    Kept apart from the rest so importing the Celery app never fails on, say, a missing
    Ekuaibao key: only the commands that need a setting insist on it.
    """

    model_config = SettingsConfigDict(
        env_file=".env", env_ignore_empty=True, extra="ignore", case_sensitive=False
    )

    celery_broker_url: str | None = Field(
        default=None, description="redis://, amqp:// or embedded://; unset = embedded broker"
    )
    state_dir: Path = Field(default_factory=_default_state_dir)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: Redis: a lookup whose worker died is redelivered after this long. Live workers renew
    #: the lease of every lookup they hold, so this bounds only how long a dead one's wait.
    broker_visibility_timeout_s: int = Field(default=30, ge=10, le=3600)
    #: Where bots and workers share state (de-duplication, reply ledger, Ekuaibao token and
    #: budget, report cache). Unset: the broker's Redis, or SQLite files under STATE_DIR.
    state_redis_url: str | None = None

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("celery_broker_url")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = value.split("://", 1)[0].lower()
        if "://" not in value or scheme not in {
            "redis",
            "rediss",
            "amqp",
            "amqps",
            "pyamqp",
            "embedded",
            "memory",
            "filesystem",
            "sqla+sqlite",
            "sqla+postgresql",
        }:
            raise ValueError("use redis://…, amqp://… or embedded://…")
        return value

    @field_validator("state_redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().startswith(("redis://", "rediss://")):
            raise ValueError("use redis://… or rediss://…")
        return value

    @property
    def broker_url(self) -> str:
        """The broker Celery should use; the embedded one lives in the state folder."""
        if self.celery_broker_url and not self.celery_broker_url.startswith("embedded://"):
            return self.celery_broker_url
        if self.celery_broker_url and len(self.celery_broker_url) > len("embedded://"):
            return self.celery_broker_url
        from tasks.broker.embedded import embedded_url

        return embedded_url(self.state_dir / "broker.sqlite3")

    @property
    def is_embedded(self) -> bool:
        return self.broker_url.startswith("embedded://")

    @property
    def is_amqp(self) -> bool:
        return self.broker_url.lower().startswith(("amqp://", "amqps://", "pyamqp://"))

    @property
    def broker_is_redis(self) -> bool:
        return self.broker_url.lower().startswith(("redis://", "rediss://"))

    @property
    def redis_url(self) -> str | None:
        """The Redis holding the state every bot and worker shares: STATE_REDIS_URL, else
        the broker's Redis; None means SQLite files under STATE_DIR (one host only)."""
        if self.state_redis_url:
            return self.state_redis_url
        return self.broker_url if self.broker_is_redis else None

    def one_host_warning(self) -> str | None:
        """A networked broker invites several hosts, but SQLite state is one host's."""
        if self.redis_url or self.is_embedded:
            return None
        return (
            "shared state (de-duplication, reply ledger, Ekuaibao token and budget) is kept in "
            f"SQLite under {self.state_dir}: every bot and worker must run on this host. "
            "Set STATE_REDIS_URL to run them on several hosts"
        )
