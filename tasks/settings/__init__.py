"""Typed settings from the environment or `.env`; a bad value stops start-up with one clear line."""

from __future__ import annotations

import hashlib
import hmac
import re
import sys
from collections.abc import Iterable
from typing import Annotated, Literal, NoReturn

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import NoDecode

from tasks.contracts import SLACK_RESPONSE_URL_PREFIXES
from tasks.settings.broker import BrokerSettings as BrokerSettings
from tasks.settings.cores import usable_cores

#: Who may look up invoices (see tasks/lookup/access.py).
AccessMode = Literal["open", "allowlist", "ekuaibao"]

#: Which Slack ids each allowlist takes: users U…/W… (Enterprise Grid), user groups S…,
#: channels C… (public) or G… (private). A DM (D…) is not something to allowlist.
_SLACK_ID_KINDS: dict[str, tuple[re.Pattern[str], str]] = {
    "allowed_slack_users": (re.compile(r"[UW][A-Z0-9]{2,}"), "a Slack user id (U… or W…)"),
    "finance_slack_users": (re.compile(r"[UW][A-Z0-9]{2,}"), "a Slack user id (U… or W…)"),
    "allowed_slack_usergroups": (re.compile(r"S[A-Z0-9]{2,}"), "a Slack user group id (S…)"),
    "allowed_slack_channels": (re.compile(r"[CG][A-Z0-9]{2,}"), "a Slack channel id (C… or G…)"),
}
_ID_SEPARATORS = re.compile(r"[,\s]+")
#: What a worker cannot run without.
EKUAIBAO = ("ekuaibao_app_key", "ekuaibao_app_security")


class Settings(BrokerSettings):
    """Everything the bot and worker read. Secrets are SecretStr so they never print."""

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    #: Comma-separated URL prefixes a response_url must start with to be POSTed a reply.
    slack_response_url_prefixes: Annotated[tuple[str, ...], NoDecode] = SLACK_RESPONSE_URL_PREFIXES
    ekuaibao_base_url: str = "https://app.ekuaibao.com"
    ekuaibao_app_key: SecretStr | None = None
    ekuaibao_app_security: SecretStr | None = None
    #: Seconds for one Ekuaibao HTTP call (connect, read, write).
    ekuaibao_timeout_s: float = Field(default=10.0, gt=0, le=120)
    #: How long to keep retrying a failing Ekuaibao; capped by the response_url's 30 minutes.
    ekuaibao_retry_window_s: float = Field(default=25 * 60, ge=0, le=29 * 60)
    #: First retry delay; doubles each time (with jitter), at most 5 minutes.
    ekuaibao_retry_base_s: float = Field(default=2.0, gt=0, le=300)
    #: Requests per second to Ekuaibao for the whole tenant (all workers), and the burst.
    ekuaibao_rate_limit: float = Field(default=5.0, gt=0, le=1000)
    ekuaibao_rate_burst: int = Field(default=10, ge=1, le=10000)
    #: Lookups one person may have in flight at once (all workers); the rest wait their turn.
    lookups_per_person: int = Field(default=2, ge=1, le=100)
    #: Two clicks of the same button by one person within this many seconds are one click.
    double_click_s: float = Field(default=3.0, ge=0.1, le=60)
    #: auto: each user's Slack locale (users.info); en or zh: everyone in that language.
    bot_language: Literal["auto", "en", "zh"] = "auto"
    #: Unset: gevent with Redis (or RabbitMQ and STATE_REDIS_URL), else threads (`pool`).
    worker_pool: Literal["gevent", "threads", "prefork"] | None = None
    #: Lookups in flight per worker process: they mostly wait for Ekuaibao (prefork: the
    #: pool's processes, one per core by default).
    worker_concurrency: int = Field(default=64, ge=1, le=256)
    #: Celery processes of `invoicebot worker`; unset: one per usable core (`processes`).
    worker_processes: int | None = Field(default=None, ge=1, le=64)
    #: open | allowlist | ekuaibao; unset = allowlist if any allowlist is set, else open.
    access_mode: AccessMode | None = None
    #: Comma-separated Slack ids (env) or any iterable of them (initialiser).
    allowed_slack_users: Annotated[frozenset[str], NoDecode] = frozenset()
    allowed_slack_usergroups: Annotated[frozenset[str], NoDecode] = frozenset()
    allowed_slack_channels: Annotated[frozenset[str], NoDecode] = frozenset()
    #: May see every invoice, in every mode.
    finance_slack_users: Annotated[frozenset[str], NoDecode] = frozenset()
    #: Post invoice data into Slack Connect channels shared with other organisations.
    allow_shared_channels: bool = False
    #: The secret last part of `/ekuaibao/events/<token>`, where Ekuaibao's outbound
    #: approval messages arrive (unset: that path does not exist).
    ekuaibao_events_token: SecretStr | None = None
    #: Seconds a connection to `serve` may stay silent before it is closed (Slack's and
    #: Ekuaibao's requests arrive at once; a silent connection only holds a slot).
    http_idle_timeout_s: int = Field(default=10, ge=1, le=300)
    #: DM a report's submitter when it is rejected or paid.
    notify_submitters: bool = False
    #: Approve, reject and ask from the review card (needs 单据审批; off by default: the
    #: bot then acts in Ekuaibao as the person who clicked, and is the only guard).
    approvals_in_slack: bool = False
    #: Seconds between two decision calls of this tenant (Ekuaibao asks for > 1 minute).
    approvals_interval_s: float = Field(default=61.0, ge=0.5, le=3600)
    #: Signs each decision task (bot) and checks it (worker); the same in every process.
    #: Unset: derived from SLACK_SIGNING_SECRET, else SLACK_APP_TOKEN; neither: no decisions.
    decision_signing_key: SecretStr | None = Field(default=None, min_length=32)
    #: What replies and cards show of the files themselves. `images` (the default): a
    #: photo's or scan's thumbnail beside its invoice, from its one-hour signed link, which
    #: Slack fetches; nothing is uploaded. `all`: also a Preview button on PDF, OFD and XML
    #: files, rendered by a worker and uploaded to Slack, where the copy stays until
    #: PREVIEW_KEEP_HOURS (unlike the links, a copy of the invoice then lives in Slack,
    #: hence opt-in). `off`: links only.
    previews: Literal["off", "images", "all"] = "images"
    #: Hours an uploaded preview stays in Slack before the bot deletes it.
    preview_keep_hours: float = Field(default=24.0, gt=0, le=24 * 30)

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("a bot token starts with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("an app-level token starts with xapp-")
        return value

    @field_validator("ekuaibao_events_token")
    @classmethod
    def _events_token(cls, value: SecretStr | None) -> SecretStr | None:
        """It is the only thing guarding the path: long, and safe inside a URL."""
        if value is None:
            return None
        if len(value.get_secret_value()) < 24:
            raise ValueError("use at least 24 characters (e.g. `openssl rand -hex 16`)")
        if not re.fullmatch(r"[A-Za-z0-9_\-.~]+", value.get_secret_value()):
            raise ValueError("use only letters, digits and - _ . ~")
        return value

    @field_validator("slack_api_url", "ekuaibao_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")) or len(value) < len("http://x"):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("slack_response_url_prefixes", mode="before")
    @classmethod
    def _response_url_prefixes(cls, value: object) -> tuple[str, ...]:
        """`https://host/…/`; plain http only on this machine (a stand-in in tests)."""
        parts = value.split(",") if isinstance(value, str) else value
        if not isinstance(parts, list | tuple) or not parts:
            raise ValueError("expected comma-separated URL prefixes")
        prefixes = tuple(str(part).strip() for part in parts if str(part).strip())
        for prefix in prefixes:
            local = re.match(r"http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?/", prefix)
            https = re.match(r"https://[A-Za-z0-9.-]+(:\d+)?/", prefix)
            if not (https or local) or not prefix.endswith("/"):
                raise ValueError("use https://<host>/ prefixes, e.g. https://hooks.slack.com/")
        if not prefixes:
            raise ValueError("expected at least one URL prefix")
        return prefixes

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator("ekuaibao_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("access_mode", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator(
        "allowed_slack_users",
        "allowed_slack_usergroups",
        "allowed_slack_channels",
        "finance_slack_users",
        mode="before",
    )
    @classmethod
    def _slack_ids(cls, value: object, info: ValidationInfo) -> frozenset[str]:
        """`U1,U2` (env) or an iterable of ids; every id must look like that list's kind."""
        if value is None:
            return frozenset()
        if isinstance(value, str):
            parts: Iterable[object] = _ID_SEPARATORS.split(value)
        elif isinstance(value, list | tuple | set | frozenset):
            parts = value
        else:
            raise ValueError("expected comma-separated Slack ids")
        pattern, kind = _SLACK_ID_KINDS[str(info.field_name)]
        ids: set[str] = set()
        for part in parts:
            text = part.strip() if isinstance(part, str) else part
            if text == "":
                continue
            if not isinstance(text, str) or not pattern.fullmatch(text):
                raise ValueError(f"{text!r} is not {kind}")
            ids.add(text)
        return frozenset(ids)

    @property
    def pool(self) -> Literal["gevent", "threads", "prefork"]:
        """Green threads when queue and state are networked: 64 OS threads spent much of a
        core handing one GIL around (docs/benchmarks.md). OS threads when either is SQLite,
        whose calls, waiting on a lock, would hold up every green thread."""
        if self.worker_pool is not None:
            return self.worker_pool
        return "gevent" if self.redis_url and not self.is_embedded else "threads"

    @property
    def processes(self) -> int:
        """Celery processes `invoicebot worker` runs: one GIL each, so one per usable core
        (affinity and cgroup quota) unless WORKER_PROCESSES says otherwise. Prefork already
        spreads over the cores inside one Celery, so it gets one unless told otherwise."""
        if self.worker_processes is not None:
            return self.worker_processes
        return 1 if self.pool == "prefork" else usable_cores()

    @property
    def concurrency(self) -> int:
        """WORKER_CONCURRENCY, per Celery process, not split among them: it is what one
        process's thread and connection pools are sized for (tasks/runtime.py), what one
        GIL was measured to carry (docs/benchmarks.md), and a one-core host keeps exactly
        the worker it had; a process added per core adds its own 64 lookups. Prefork on
        its default: one pool process per usable core (the default 64 counts threads)."""
        if self.pool == "prefork" and "worker_concurrency" not in self.model_fields_set:
            return usable_cores()
        return self.worker_concurrency

    @property
    def decision_key(self) -> bytes | None:
        """The key decisions are signed with, derived (never the Slack secret itself, so
        one .env serves every process without the secret doubling as another key)."""
        for source in (self.decision_signing_key, self.slack_signing_secret, self.slack_app_token):
            if source is not None and source.get_secret_value():
                label = b"invoicebot decision signing key v1"
                return hmac.new(source.get_secret_value().encode(), label, hashlib.sha256).digest()
        return None

    @property
    def effective_access_mode(self) -> AccessMode:
        """ACCESS_MODE, or its default: allowlist when any allowlist is set, else open."""
        if self.access_mode is not None:
            return self.access_mode
        if (
            self.allowed_slack_users
            or self.allowed_slack_usergroups
            or self.allowed_slack_channels
            or self.finance_slack_users
        ):
            return "allowlist"
        return "open"


def fail(message: str, status: int = 2) -> NoReturn:
    """One line on stderr and exit status 2: the contract for a bad setting. Status 1 is
    for what may pass by itself (a broker not up yet), so a service manager restarts on 1
    but not on 2."""
    print(f"invoicebot: {message}", file=sys.stderr)
    raise SystemExit(status)


def load_settings(*, require: tuple[str, ...] = ()) -> Settings:
    """Settings for a command, insisting on the fields that command cannot run without."""
    try:
        settings = Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]).upper() if error["loc"] else "setting"
        fail(f"setting {name} is invalid: {error['msg']}")
    for field in require:
        if getattr(settings, field) is None:
            fail(f"setting {field.upper()} is missing: set it in the environment or in .env")
    return settings
