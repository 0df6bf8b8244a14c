-- operator_put: creates an operator (or replaces a revoked one, or any one with ARGV[4] = '1').
-- KEYS[1] operator record hash, KEYS[2] operator index set
-- ARGV[1] operator_id  ARGV[2] SHA-256 of its new key  ARGV[3] created_at (ISO)  ARGV[4] '1' to replace
-- Returns JSON {ok=true, replaced=bool} or {ok=false, error='exists'}.
-- @include json_reply

local exists = redis.call('EXISTS', KEYS[1]) == 1
local revoked = redis.call('HEXISTS', KEYS[1], 'revoked_at') == 1
if exists and not revoked and ARGV[4] ~= '1' then return fail('exists') end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'operator_id', ARGV[1], 'key_hash', ARGV[2], 'created_at', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
return reply({ ok = true, replaced = exists })
