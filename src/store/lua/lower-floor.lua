-- Lowers an id floor to n (never raises it): a number was freed.
-- KEYS: floor; ARGV: n, ttlMs.
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) > tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1
