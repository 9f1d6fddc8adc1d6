-- The tenant's Ekuaibao budget: `LineLimiter.take` / `slow_down` of budget_store.py (with
-- `line.take`, `effective_rate` and `floor_rate`), run atomically on the server.
-- KEYS[1]: the bucket. ARGV: 'take' or 'slow_down', the clock ('' for Redis's), the rate,
-- the burst; then for take: want, max_wait_s, call, ticket, who, priority (returns
-- {granted, wait_s as a string, ahead, queued 0|1}); for slow_down: the hold in seconds
-- (returns the rate now in force, as a string).

local key, op = KEYS[1], ARGV[1]
local now, configured, burst = clock(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local PRIORITY, RESERVE = $PRIORITY, $RESERVE

local b = load(key).bucket
if b == nil then
  b = {tokens = burst, ts = now, cut_at = 0, halved_at = 0, waiters = {}, tags = {}, served = {},
       seq = 0}
elseif b.cut == cjson.null then
  b.cut = nil
end

local function effective_rate(rate, cut, cut_at)
  if cut == nil then return rate end
  local calm = now - cut_at - $QUIET_S
  if calm <= 0 then return cut end
  return math.min(rate, cut + (rate - cut) * calm / $RAMP_S)
end

local function floor_rate(rate) return math.min(rate, math.max($MIN_RATE, rate * $MIN_FRACTION)) end

-- The bucket refilled to now, with the rate in force and the burst it allows.
local rate = effective_rate(configured, b.cut, b.cut_at)
local cap = math.max(1.0, burst * rate / configured)
b.tokens = math.min(cap, b.tokens + math.max(0.0, now - b.ts) * rate)
b.ts = now

local function waiter_json(w)  -- {ticket, who, priority, tag, seq, last poll}
  return '[' .. str(w[1]) .. ',' .. str(w[2]) .. ',' .. str(w[3]) .. ',' .. num(w[4]) .. ','
    .. num(w[5]) .. ',' .. num(w[6]) .. ']'
end

local function save()
  local cut = 'null'
  if b.cut ~= nil then cut = num(b.cut) end
  keep(key, '{"bucket":{"tokens":' .. num(b.tokens) .. ',"ts":' .. num(b.ts) .. ',"cut":' .. cut
    .. ',"cut_at":' .. num(b.cut_at) .. ',"halved_at":' .. num(b.halved_at)
    .. ',"waiters":' .. obj(b.waiters, waiter_json) .. ',"tags":' .. obj(b.tags, num)
    .. ',"served":' .. obj(b.served, num) .. ',"seq":' .. num(b.seq) .. '}}')
end

if op == 'slow_down' then
  local hold = tonumber(ARGV[5])
  if now - b.halved_at >= $CUT_EVERY_S then
    rate = math.max(floor_rate(configured), rate / 2)
    b.halved_at = now
  end
  b.tokens = math.min(b.tokens, 1 - hold * rate)
  b.cut, b.cut_at = rate, now
  save()
  return num(rate)
end

-- line.take
local want, max_wait_s = tonumber(ARGV[5]), tonumber(ARGV[6])
local call, ticket, who, priority = ARGV[7], ARGV[8], ARGV[9], ARGV[10]
for c, w in pairs(b.waiters) do
  if w[6] < now - $STALE_S then b.waiters[c] = nil end
end
local person = priority .. ' ' .. who
local mine = b.waiters[call]
if mine == nil then
  local tag = math.max(b.served[priority] or 0.0, b.tags[person] or 0.0) + 1
  mine = {ticket, who, priority, tag, b.seq, now}
end

local function order(x, y)  -- line._order: class, then tag, then seq
  if x[3] ~= y[3] then return PRIORITY[x[3]] < PRIORITY[y[3]] end
  if x[4] ~= y[4] then return x[4] < y[4] end
  return x[5] < y[5]
end

-- The calls ahead of mine in the sorted line (the order is strict: seq is unique to each
-- waiter), without sorting it.
local ahead_of_me = {}
for c, w in pairs(b.waiters) do
  if c ~= call and order(w, mine) then ahead_of_me[#ahead_of_me + 1] = w end
end
local rank = #ahead_of_me
local usable = b.tokens - math.floor(RESERVE[priority] * cap)
local free = math.floor(usable)
if rank < free then
  local granted = math.min(want, free - rank)
  b.tokens = b.tokens - granted
  b.waiters[call] = nil
  -- line._served
  local served = math.max(b.served[priority] or 0.0, mine[4])
  b.served[priority] = served
  local prefix = priority .. ' '
  for p, t in pairs(b.tags) do
    if string.sub(p, 1, #prefix) == prefix and t <= served then b.tags[p] = nil end
  end
  save()
  return {granted, '0', 0, 0}
end
local wait = (rank + 1 - usable) / rate
local tickets, ahead = {}, 0
for i = 1, rank do
  local t = ahead_of_me[i][1]
  if t ~= ticket and t ~= '' and not tickets[t] then
    tickets[t] = true
    ahead = ahead + 1
  end
end
if wait > max_wait_s then
  b.waiters[call] = nil
  save()
  return {0, num(wait), ahead, 0}
end
if b.waiters[call] == nil then
  b.waiters[call] = mine
  b.tags[person] = mine[4]
  b.seq = b.seq + 1
end
mine[6] = now
save()
return {0, num(wait), ahead, 1}
