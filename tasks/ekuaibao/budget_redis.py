"""The shared Ekuaibao budget kept in Redis, for the worker processes of every host.

Two Lua scripts apply the bucket's rule (`tasks.ekuaibao.budget`) atomically on the server,
timed by Redis's own clock so that hosts need not agree on theirs.
"""

from __future__ import annotations

from tasks.ekuaibao.budget import CUT_EVERY_S, MAX_WAIT_S, QUIET_S, RAMP_S, Grant, floor_rate

#: The bucket's state outlives its last use by 600 s (the scripts' PEXPIRE).
#: Shared by both scripts: the state is (tokens, ts, cut, cut_at, halved_at); times in ms.
#: effective rate = configured, or `cut` within QUIET of the last 429, then a linear ramp.
_LUA_RATE = """
local function effective(rate, cut, cut_at, now, quiet, ramp)
  if not cut then return rate end
  local calm = now - cut_at - quiet
  if calm <= 0 then return cut end
  return math.min(rate, cut + (rate - cut) * calm / ramp)
end
"""

#: take: KEYS {bucket, queue}; ARGV {rate, burst, want, max_wait_ms, ticket, quiet, ramp}.
#: Returns {granted, wait_ms, lookups_ahead}; granted 0 = refused and nothing reserved.
_LUA_TAKE = (
    _LUA_RATE
    + """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate, burst, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local max_wait, ticket = tonumber(ARGV[4]), ARGV[5]
local d = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'cut', 'cut_at')
local cut, cut_at = tonumber(d[3]), tonumber(d[4]) or 0
local r = effective(rate, cut, cut_at, now, tonumber(ARGV[6]), tonumber(ARGV[7]))
local cap = math.max(1, burst * r / rate)
local tokens = tonumber(d[1]) or burst
local ts = tonumber(d[2]) or now
tokens = math.min(cap, tokens + (now - ts) * r / 1000)
local granted = 1
if tokens >= 1 then granted = math.min(want, math.floor(tokens)) end
local left = tokens - granted
local wait = 0
if left < 0 then wait = math.ceil(-left * 1000 / r) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local ahead = 0
if wait > 0 then
  ahead = redis.call('ZCOUNT', KEYS[2], '-inf', now + wait - 1)
  local mine = tonumber(redis.call('ZSCORE', KEYS[2], ticket))
  if mine and mine < now + wait then ahead = ahead - 1 end
end
if wait > max_wait then return {0, wait, ahead} end
redis.call('HSET', KEYS[1], 'tokens', tostring(left), 'ts', now)
if ticket ~= '' and wait > 0 then
  redis.call('ZADD', KEYS[2], 'GT', now + wait, ticket)
end
redis.call('PEXPIRE', KEYS[1], 600000)
redis.call('PEXPIRE', KEYS[2], 600000)
return {granted, wait, ahead}
"""
)

#: slow_down: KEYS {bucket}; ARGV {rate, burst, retry_after_ms, quiet, ramp, cut_every,
#: floor}. Returns the new rate, in thousandths of a request per second.
_LUA_SLOW_DOWN = (
    _LUA_RATE
    + """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate, burst, hold = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local d = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'cut', 'cut_at', 'halved_at')
local cut, cut_at, halved_at = tonumber(d[3]), tonumber(d[4]) or 0, tonumber(d[5]) or 0
local r = effective(rate, cut, cut_at, now, tonumber(ARGV[4]), tonumber(ARGV[5]))
local tokens = tonumber(d[1]) or burst
local ts = tonumber(d[2]) or now
tokens = math.min(math.max(1, burst * r / rate), tokens + (now - ts) * r / 1000)
if now - halved_at >= tonumber(ARGV[6]) then
  r = math.max(tonumber(ARGV[7]), r / 2)
  halved_at = now
end
tokens = math.min(tokens, 1 - hold * r / 1000)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now, 'cut', tostring(r),
  'cut_at', now, 'halved_at', halved_at)
redis.call('PEXPIRE', KEYS[1], 600000)
return math.floor(r * 1000)
"""
)


class RedisRateLimiter:
    def __init__(self, redis_url: str, key: str, rate: float, burst: int) -> None:
        import redis

        self._redis = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self._take = self._redis.register_script(_LUA_TAKE)
        self._slow_down = self._redis.register_script(_LUA_SLOW_DOWN)
        self._key = f"invoicebot:ekuaibao-rate:{key}"
        self._queue = f"invoicebot:ekuaibao-queue:{key}"
        self._rate, self._burst = rate, burst

    def take(self, want: int = 1, max_wait_s: float = MAX_WAIT_S, ticket: str = "") -> Grant:
        max_wait_ms = min(max_wait_s, 10.0**9) * 1000
        args: list[str | float] = [self._rate, self._burst, want, max_wait_ms, ticket]
        args += [QUIET_S * 1000, RAMP_S * 1000]
        granted, wait_ms, ahead = self._take(keys=[self._key, self._queue], args=args)
        return Grant(int(granted), float(wait_ms) / 1000, max(0, int(ahead)))

    def slow_down(self, retry_after_s: float | None) -> float:
        hold_ms = min(retry_after_s or 0.0, MAX_WAIT_S) * 1000
        args: list[str | float] = [
            self._rate,
            self._burst,
            hold_ms,
            QUIET_S * 1000,
            RAMP_S * 1000,
            CUT_EVERY_S * 1000,
            floor_rate(self._rate),
        ]
        return float(self._slow_down(keys=[self._key], args=args)) / 1000
