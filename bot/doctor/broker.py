"""Broker checks: can the bot and workers reach the queue, and does it keep what it holds."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from bot.doctor.checks import Check, fail, ok, public_url, skip, warn
from tasks.settings import Settings

BROKER = "Broker"
PERSISTENCE = "Redis persistence"
STATE = "Shared state"
_TIMEOUT_S = 3


def broker_checks(settings: Settings) -> list[Check]:
    url = settings.broker_url
    if settings.is_embedded:
        checks = [embedded_check(url), skip(PERSISTENCE, "the broker is not Redis")]
    elif settings.broker_is_redis:
        checks = redis_checks(url)
    elif url.startswith("memory://"):
        checks = [
            fail(
                BROKER,
                "memory:// lives inside one process: the bot and workers cannot share it — "
                "unset CELERY_BROKER_URL (embedded broker) or use redis:// or amqp://",
            ),
            skip(PERSISTENCE, "the broker is not Redis"),
        ]
    else:
        checks = [kombu_check(url), skip(PERSISTENCE, "the broker is not Redis")]
    return checks + shared_state_checks(settings)


def shared_state_checks(settings: Settings) -> list[Check]:
    """STATE_REDIS_URL reachable; or, with a networked broker and no Redis, one host only."""
    if settings.state_redis_url:
        return [redis_ping(STATE, settings.state_redis_url, "STATE_REDIS_URL")]
    one_host = settings.one_host_warning()
    return [warn(STATE, one_host)] if one_host else []


def _writable(folder: Path) -> tuple[bool, Path]:
    """Whether `folder` (or, not made yet, its nearest existing parent) takes new files."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        return False, probe
    try:
        with tempfile.NamedTemporaryFile(dir=probe, prefix=".invoicebot-doctor-"):
            pass
    except OSError:
        return False, probe
    return True, probe


def embedded_check(url: str) -> Check:
    from tasks.broker.embedded_store import db_path  # the very resolution the transport uses

    try:
        path = db_path(url, {})
    except ValueError as exc:
        return fail(BROKER, f"{exc} — fix CELERY_BROKER_URL")
    writable, where = _writable(path.parent)
    if not writable:
        return fail(
            BROKER,
            f"embedded ({path}): cannot create files in {where} — make it writable for this "
            "user, or set STATE_DIR to a folder that is",
        )
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return fail(
            BROKER, f"embedded ({path}): the file is not readable and writable by this user"
        )
    state = "folder writable" if path.parent.exists() else f"will be created in {where}"
    return ok(BROKER, f"embedded ({path}), {state}; one host only")


def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=_TIMEOUT_S, socket_connect_timeout=_TIMEOUT_S)


def _ping(client: Any, shown: str, setting: str) -> str | None:
    """Why PING failed, in words with what to do; None when Redis answered."""
    import redis

    try:
        client.ping()
    except redis.AuthenticationError:
        return f"{shown} refused the password — fix it in {setting}"
    except redis.RedisError as exc:
        return (
            f"cannot reach Redis at {shown} ({type(exc).__name__}) — is it running, and is "
            f"{setting} right?"
        )
    return None


def redis_ping(name: str, url: str, setting: str) -> Check:
    shown = public_url(url)
    client = _redis(url)
    try:
        problem = _ping(client, shown, setting)
    finally:
        client.close()
    return fail(name, problem) if problem else ok(name, f"Redis at {shown} answers PING")


def redis_checks(url: str) -> list[Check]:
    import redis

    shown = public_url(url)
    client = _redis(url)
    try:
        problem = _ping(client, shown, "CELERY_BROKER_URL")
        if problem:
            return [fail(BROKER, problem), skip(PERSISTENCE, "needs the broker")]
        checks = [ok(BROKER, f"Redis at {shown} answers PING")]
        try:
            config: Any = client.config_get("appendonly")
        except redis.RedisError:  # managed Redis often renames or forbids CONFIG
            checks.append(persistence_verdict(None))
        else:
            value = config.get("appendonly") if isinstance(config, dict) else None
            checks.append(persistence_verdict(value if isinstance(value, str | bytes) else None))
        return checks
    finally:
        client.close()


def persistence_verdict(appendonly: str | bytes | None) -> Check:
    """`CONFIG GET appendonly`'s answer; None when Redis would not say."""
    if isinstance(appendonly, bytes):
        appendonly = appendonly.decode(errors="replace")
    if appendonly is None:
        return warn(
            PERSISTENCE,
            "unknown (Redis refused CONFIG GET) — make sure it runs with appendonly yes, or a "
            "restart forgets the queued lookups",
        )
    if appendonly.lower() == "yes":
        return ok(PERSISTENCE, "appendonly yes: queued lookups survive a Redis restart")
    return fail(
        PERSISTENCE,
        "appendonly is off: a Redis restart forgets the queued lookups — set appendonly yes "
        "in redis.conf (or CONFIG SET appendonly yes, then CONFIG REWRITE)",
    )


def kombu_check(url: str) -> Check:
    """AMQP and the other kombu transports: one connection attempt with a short timeout."""
    from kombu import Connection

    shown = public_url(url)
    try:
        with Connection(url, connect_timeout=_TIMEOUT_S) as connection:
            connection.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=_TIMEOUT_S
            )
    except Exception as exc:  # kombu raises transport-specific errors; their text may hold the URL
        reason = "access refused" if "ACCESS_REFUSED" in str(exc).upper() else type(exc).__name__
        return fail(
            BROKER,
            f"cannot connect to {shown} ({reason}) — is it running, and is "
            "CELERY_BROKER_URL right?",
        )
    return ok(BROKER, f"connected to {shown}")
