-- Creates a job record with its lock and idempotency key, atomically, adds
-- it to the job index (every job, and the requester's), trimming from both the
-- ids created before the horizon (their records have expired), and wakes its watchers.
-- KEYS: job, events, lock (or ""), idem (or ""), active, index, requester index
-- ARGV: id, record, lockTtlMs, idemTtlMs, nowMs, queuedEventData, indexMember, horizonMember, idemValue ('<fingerprint> <id>'), channel
-- Returns {kind, value}: {'created', id}, {'conflict', holder} or {'idempotent', '<fingerprint> <prior id>'}.
if KEYS[4] ~= '' then
  local prior = redis.call('GET', KEYS[4])
  if prior then return {'idempotent', prior} end
end
if KEYS[3] ~= '' then
  local holder = redis.call('GET', KEYS[3])
  if holder then return {'conflict', holder} end
  redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[3])
end
if KEYS[4] ~= '' then redis.call('SET', KEYS[4], ARGV[9], 'PX', ARGV[4]) end
redis.call('SET', KEYS[1], ARGV[2])
local eid = redis.call('XADD', KEYS[2], '*', 'type', 'queued', 'data', ARGV[6])
redis.call('ZADD', KEYS[5], ARGV[5], ARGV[1])
for i = 6, 7 do
  redis.call('ZADD', KEYS[i], 0, ARGV[7])
  redis.call('ZREMRANGEBYLEX', KEYS[i], '-', '(' .. ARGV[8])
end
-- Wakes the job's watchers (the `queued` event), in the same round trip.
redis.call('PUBLISH', ARGV[10], ARGV[1] .. '\n0\n' .. eid .. '\nqueued\n' .. ARGV[6])
return {'created', ARGV[1]}
