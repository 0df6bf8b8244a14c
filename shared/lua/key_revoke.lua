-- key_revoke: revokes an agent's (or an operator's) key at once; the record stays, for the
-- audit trail.
-- KEYS[1] agent (or operator) record hash
-- ARGV[1] now (ISO)
-- Returns JSON {ok=true} or {ok=false, error='not_found'|'already_revoked', revoked_at}.
-- @include json_reply

if redis.call('EXISTS', KEYS[1]) == 0 then return fail('not_found') end
local revoked_at = redis.call('HGET', KEYS[1], 'revoked_at')
if revoked_at then return fail('already_revoked', { revoked_at = revoked_at }) end
redis.call('HSET', KEYS[1], 'revoked_at', ARGV[1])
return reply({ ok = true })
