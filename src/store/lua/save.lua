-- Writes a job record if its version is still the expected one (compare-and-set),
-- appends the step's events to the job's stream and wakes the stream's watchers,
-- the wake-up carrying the new version and the events (see the end).
-- KEYS: job, events, secrets, active, lock (or "")
-- ARGV: expectedVersion, record, finished ('1'|'0'), retentionMs, nowMs, channel, id, then type/data pairs
-- Returns 1 when written, 0 when the record moved on (a stale writer), -1 when it is gone.
local cur = redis.call('GET', KEYS[1])
if not cur then return -1 end
-- The record's version without decoding the whole record (a few KB, every step):
-- records are written by JSON.stringify with `id` (a UUID) and `version` first,
-- so the first field after the id is the top-level version. Any other shape is decoded.
-- (readable.lua still decodes the whole record: one Lua cannot decode is stopped by
-- the reconciler once idle, as before.)
local version = string.match(cur, '^{"id":"[%w-]*","version":(%d+),')
if not version then version = cjson.decode(cur).version end
if tonumber(version) ~= tonumber(ARGV[1]) then return 0 end
local finished = ARGV[3] == '1'
if finished then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
local n = 0
local news = {}
for i = 8, #ARGV, 2 do
  local eid = redis.call('XADD', KEYS[2], '*', 'type', ARGV[i], 'data', ARGV[i + 1])
  news[#news + 1] = eid
  news[#news + 1] = ARGV[i]
  news[#news + 1] = ARGV[i + 1]
  n = n + 1
end
if finished then
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
  redis.call('ZREM', KEYS[4], ARGV[7])
  if KEYS[5] ~= '' and redis.call('GET', KEYS[5]) == ARGV[7] then redis.call('DEL', KEYS[5]) end
else
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[7])
end
-- Every write wakes the job's watchers, the wake-up carrying the record's new
-- version and the events, so a reader that has every version before it needs no
-- read (event data is JSON: no newline).
local msg = ARGV[7] .. '\n' .. (tonumber(ARGV[1]) + 1)
if n > 0 then msg = msg .. '\n' .. table.concat(news, '\n') end
redis.call('PUBLISH', ARGV[6], msg)
return 1
