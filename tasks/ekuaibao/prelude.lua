-- Shared by the scripts of the shared state (loaded before each): the clock, and the state
-- as JSON. cjson.decode reads every bit of a number, but cjson.encode writes only 14
-- significant digits (an epoch time with microseconds needs 16), so the state is written
-- here, each number with 17 (exact): Python's json reads back the very same double.
-- Needs Redis 5 or later: scripts replicated by their effects, so TIME may precede writes.

-- `given` (a test's clock) or Redis's own, as Python computes it from TIME.
local function clock(given)
  if given ~= '' then return tonumber(given) end
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1e6
end

local function num(x) return string.format('%.17g', x) end

local function str(s) return cjson.encode(s) end

-- A JSON object of t's fields, each value written by `value`.
local function obj(t, value)
  local parts = {}
  for k, v in pairs(t) do parts[#parts + 1] = str(k) .. ':' .. value(v) end
  return '{' .. table.concat(parts, ',') .. '}'
end

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

-- The state kept at `key`, or {} when there is none.
local function load(key)
  local raw = redis.call('GET', key)
  if not raw then return {} end
  return cjson.decode(raw)
end

local function keep(key, json) redis.call('SET', key, json, 'PX', $KEEP_MS) end

