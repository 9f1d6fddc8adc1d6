"""The key-value interface on Redis: the process's one client, each store under its prefix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tasks.shared_redis import shared_redis

#: GET, and SET NX only when absent: `SET NX GET` needs Redis 7, this works on any.
_CLAIM = """
local held = redis.call('GET', KEYS[1])
if held then return held end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
"""


def _ms(ttl_s: float) -> int:
    return max(1, round(ttl_s * 1000))


def _text(raw: object) -> str | None:
    if isinstance(raw, bytes):
        return raw.decode()
    return raw if isinstance(raw, str) else None


class RedisKV:
    """Keys under `prefix` (the store's namespace) on this process's one client."""

    def __init__(self, redis_url: str, prefix: str) -> None:
        self._redis = shared_redis(redis_url)
        self._prefix = prefix
        self._claim = self._redis.register_script(_CLAIM)

    def get(self, key: str) -> str | None:
        return _text(self._redis.get(self._prefix + key))

    def put(self, key: str, value: str, ttl_s: float) -> None:
        self._redis.set(self._prefix + key, value, px=_ms(ttl_s))

    def get_many(self, keys: Sequence[str]) -> dict[str, str]:
        if not keys:
            return {}
        raws = self._redis.mget([self._prefix + k for k in keys])
        found = {k: _text(raw) for k, raw in zip(keys, raws, strict=True)}
        return {k: v for k, v in found.items() if v is not None}

    def put_many(self, entries: Mapping[str, str], ttl_s: float) -> None:
        if not entries:
            return
        pipe = self._redis.pipeline(transaction=False)
        for key, value in entries.items():
            pipe.set(self._prefix + key, value, px=_ms(ttl_s))
        pipe.execute()

    def claim(self, key: str, value: str, ttl_s: float) -> str | None:
        return _text(self._claim(keys=[self._prefix + key], args=[value, _ms(ttl_s)]))

    def left_s(self, key: str) -> float | None:
        left = self._redis.pttl(self._prefix + key)  # -2: absent, -1: no expiry
        return left / 1000 if isinstance(left, int) and left >= 0 else None

    def delete(self, key: str) -> None:
        self._redis.delete(self._prefix + key)

    def field_put(self, key: str, field: str, value: str, ttl_s: float) -> None:
        pipe = self._redis.pipeline()
        pipe.hset(self._prefix + key, field, value)
        pipe.pexpire(self._prefix + key, _ms(ttl_s))
        pipe.execute()

    def field_get(self, key: str, field: str) -> str | None:
        return _text(self._redis.hget(self._prefix + key, field))

    def fields(self, key: str) -> dict[str, str]:
        found = {_text(k): _text(v) for k, v in self._redis.hgetall(self._prefix + key).items()}
        return {k: v for k, v in found.items() if k is not None and v is not None}

    def field_delete(self, key: str, field: str) -> None:
        self._redis.hdel(self._prefix + key, field)

    def list_push(self, key: str, value: str, keep: int, ttl_s: float) -> None:
        pipe = self._redis.pipeline(transaction=False)  # one round trip; no MULTI/EXEC needed
        pipe.lpush(self._prefix + key, value)
        pipe.ltrim(self._prefix + key, 0, keep - 1)
        pipe.pexpire(self._prefix + key, _ms(ttl_s))
        pipe.execute()

    def list_items(self, key: str, count: int) -> list[str]:
        raws = self._redis.lrange(self._prefix + key, 0, count - 1)
        return [v for v in map(_text, raws) if v is not None]
