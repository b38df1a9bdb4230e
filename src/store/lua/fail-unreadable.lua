-- Ends a job whose record cannot be read: the record is kept for a human under
-- <job>:unreadable, replaced by a failed one, the 'failed' event appended and
-- published, the job taken off the active set, and its lock released.
-- KEYS: job, events, active, kept (<job>:unreadable), lock (or "")
-- ARGV: id, replacement record, retentionMs, failedEventData, channel
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
redis.call('SET', KEYS[4], raw, 'PX', ARGV[3])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('XADD', KEYS[2], '*', 'type', 'failed', 'data', ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('ZREM', KEYS[3], ARGV[1])
if KEYS[5] ~= '' and redis.call('GET', KEYS[5]) == ARGV[1] then redis.call('DEL', KEYS[5]) end
redis.call('PUBLISH', ARGV[5], ARGV[1])
return 1
