-- Deletes a lock only if its holder (a job id or a mutex token) still holds it.
-- KEYS: lock; ARGV: holder. Returns 1 if deleted, 0 otherwise.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
