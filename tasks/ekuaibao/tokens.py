"""One Ekuaibao access token shared by every worker process.

Tokens live 2 h and fetching one is slow (Ekuaibao delays its answer on purpose), so all
workers share one: in the broker's Redis when there is one, else in a 0600 file in the
state folder. A lock makes sure only one process fetches at a time.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from tasks.shared_redis import shared_redis


@dataclass(frozen=True)
class AccessToken:
    value: str
    #: Epoch milliseconds, as Ekuaibao's `expireTime`.
    expires_at_ms: int
    #: Epoch seconds when we got it: a 403 on a seconds-old token is Ekuaibao's known lag.
    issued_at: float

    def __repr__(self) -> str:
        return f"AccessToken(expires_at_ms={self.expires_at_ms}, issued_at={self.issued_at:.0f})"

    def usable(self, now: float, margin_s: float) -> bool:
        return self.expires_at_ms / 1000 - margin_s > now


class TokenStore(Protocol):
    def load(self) -> AccessToken | None: ...
    def save(self, token: AccessToken) -> None: ...
    def discard(self, value: str) -> None:
        """Forget the stored token only if it is still `value` (another worker may have renewed)."""

    def lock(self) -> contextlib.AbstractContextManager[None]: ...


def store_key(base_url: str, app_key: str) -> str:
    """Tokens belong to one tenant; the key never contains the app key itself."""
    return hashlib.sha256(f"{base_url}|{app_key}".encode()).hexdigest()[:16]


def _decode(raw: str | bytes | None) -> AccessToken | None:
    if not raw:
        return None
    try:
        data: dict[str, Any] = json.loads(raw)
        return AccessToken(str(data["value"]), int(data["expires_at_ms"]), float(data["issued_at"]))
    except (ValueError, KeyError, TypeError):
        return None


class FileTokenStore:
    """For the embedded broker: processes on one host share a file, guarded by flock."""

    def __init__(self, folder: Path, key: str) -> None:
        self._path = folder / f"ekuaibao-token-{key}.json"
        self._lock_path = folder / f"ekuaibao-token-{key}.lock"

    def load(self) -> AccessToken | None:
        try:
            return _decode(self._path.read_text())
        except FileNotFoundError:
            return None

    def save(self, token: AccessToken) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=".token-")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(asdict(token), handle)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self._path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def discard(self, value: str) -> None:
        current = self.load()
        if current is not None and current.value == value:
            with contextlib.suppress(FileNotFoundError):
                self._path.unlink()

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        self._lock_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class RedisTokenStore:
    """For Redis brokers: every worker on every host shares the token."""

    def __init__(self, redis_url: str, key: str) -> None:
        self._redis = shared_redis(redis_url)
        self._key = f"invoicebot:ekuaibao-token:{key}"

    def load(self) -> AccessToken | None:
        raw = self._redis.get(self._key)
        return _decode(raw if isinstance(raw, str | bytes) else None)

    def save(self, token: AccessToken) -> None:
        import time

        ttl_ms = max(int(token.expires_at_ms - time.time() * 1000), 1000)
        self._redis.set(self._key, json.dumps(asdict(token)), px=ttl_ms)

    def discard(self, value: str) -> None:
        script = (
            "local v = redis.call('get', KEYS[1]) "
            "if v and string.find(v, ARGV[1], 1, true) then return redis.call('del', KEYS[1]) end "
            "return 0"
        )
        self._redis.eval(script, 1, self._key, json.dumps(value))

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        with self._redis.lock(self._key + ":lock", timeout=60, blocking_timeout=70):
            yield


class MemoryTokenStore:
    """For unit tests and single-process use."""

    def __init__(self) -> None:
        import threading

        self.token: AccessToken | None = None
        self._lock = threading.Lock()

    def load(self) -> AccessToken | None:
        return self.token

    def save(self, token: AccessToken) -> None:
        self.token = token

    def discard(self, value: str) -> None:
        if self.token is not None and self.token.value == value:
            self.token = None

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        with self._lock:
            yield
