-- Extends a mutex's TTL only if its holder still holds it.
-- KEYS: mutex; ARGV: token, ttlMs. Returns 1 if extended, 0 otherwise.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
