-- request_note: adds a line to a request's timeline without moving it, and counts it in the
-- record (say, a second stream entry with the same id, acknowledged as a duplicate and not run).
-- The line carries the request's current state, so every timeline entry reads the same way.
-- KEYS[1] request status hash  KEYS[2] request events stream
-- ARGV[1] now (ISO)  ARGV[2] detail  ARGV[3] counter field to increment  ARGV[4] status TTL (ms)
-- Returns JSON {ok=true, count=n} or {ok=false, error='not_found'}.
-- @include json_reply

local state = redis.call('HGET', KEYS[1], 'state')
if not state then return fail('not_found') end
local count = redis.call('HINCRBY', KEYS[1], ARGV[3], 1)
redis.call('XADD', KEYS[2], '*', 'state', state, 'at', ARGV[1], 'detail', ARGV[2])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[4]))
return reply({ ok = true, count = count })
