-- A person's lookups in flight: `enter` and `leave` of tasks/state/inflight.py, run
-- atomically on the server. KEYS[1]: the person's state. ARGV: 'enter' or 'leave', the
-- clock ('' for Redis's), the lookup, the cap.
-- Returns {admitted 0|1, others, ahead, retry_in as a string}.

local key, op, lookup = KEYS[1], ARGV[1], ARGV[3]
local state = load(key)
local running = state.running  -- lookup -> until
local waiting = state.waiting  -- lookup -> {since, until}

local function place_json(place) return '[' .. num(place[1]) .. ',' .. num(place[2]) .. ']' end

local function save()  -- the fields there are, like Python's json.dumps of the state
  local fields = {}
  if running then fields[#fields + 1] = '"running":' .. obj(running, num) end
  if waiting then fields[#fields + 1] = '"waiting":' .. obj(waiting, place_json) end
  keep(key, '{' .. table.concat(fields, ',') .. '}')
end

-- Python's `a < b` for str: by code point, which is UTF-8's byte order (Lua's `<` follows
-- the server's locale).
local function before(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

if op == 'leave' then
  if running then running[lookup] = nil end
  if waiting then waiting[lookup] = nil end
  save()
  return {1, 0, 0, '0'}
end

local now, cap = clock(ARGV[2]), tonumber(ARGV[4])
running, waiting = running or {}, waiting or {}
for k, till in pairs(running) do
  if till < now then running[k] = nil end
end
for k, place in pairs(waiting) do
  if place[2] < now then waiting[k] = nil end
end
if running[lookup] then  -- a redelivery of one already running
  running[lookup] = now + $RUNNING_S
  save()
  return {1, count(running) - 1, 0, '0'}
end
local place = waiting[lookup]
if place == nil then
  place = {now, now + $GRACE_S}
  waiting[lookup] = place
end
local ahead = count(running)
for k, other in pairs(waiting) do
  if other[1] < place[1] or (other[1] == place[1] and before(k, lookup)) then
    ahead = ahead + 1
  end
end
if ahead < cap then
  waiting[lookup] = nil
  running[lookup] = now + $RUNNING_S
  save()
  return {1, count(running) - 1, 0, '0'}
end
local retry_in = math.min($MAX_RETRY_S, $RETRY_STEP_S * (1 + math.floor((ahead - cap) / math.max(1, cap))))
place[2] = now + retry_in + $GRACE_S
save()
return {0, 0, ahead, num(retry_in)}
