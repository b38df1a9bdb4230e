-- Whether a job record can be read here, in Redis's Lua, where every update
-- decodes it (save.lua). A record Lua's cjson cannot decode (an unpaired
-- UTF-16 surrogate, say) can never be updated again: the reconciler then
-- marks the job failed instead of retrying it forever.
-- KEYS: job. Returns 1 (readable), 0 (unreadable), -1 (gone).
local raw = redis.call('GET', KEYS[1])
if not raw then return -1 end
local ok, rec = pcall(cjson.decode, raw)
if not ok or type(rec) ~= 'table' or type(rec.version) ~= 'number' then return 0 end
return 1
