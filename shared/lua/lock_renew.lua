-- lock_renew: extends a deploy lock, only for its owner; also how an owner checks it still holds it.
-- KEYS[1] lock key
-- ARGV[1] owner token  ARGV[2] ttl (ms)
-- Returns JSON {ok=true} or {ok=false, error='lost', holder=token|nil}.
-- @include json_reply

local holder = redis.call('GET', KEYS[1])
if holder ~= ARGV[1] then return fail('lost', { holder = holder or nil }) end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return reply({ ok = true })
