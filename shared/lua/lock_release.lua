-- lock_release: frees a deploy lock, only for its owner: a lock that expired and was taken by
-- another runner must not be deleted by the one that lost it.
-- KEYS[1] lock key
-- ARGV[1] owner token
-- Returns JSON {ok=true} or {ok=false, error='not_owner'}.
-- @include json_reply

if redis.call('GET', KEYS[1]) ~= ARGV[1] then return fail('not_owner') end
redis.call('DEL', KEYS[1])
return reply({ ok = true })
