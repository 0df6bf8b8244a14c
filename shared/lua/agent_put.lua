-- agent_put: creates an agent (or replaces a revoked one, or any one with ARGV[8] = '1').
-- KEYS[1] agent record hash, KEYS[2] agent index set
-- ARGV[1] agent_id  ARGV[2] SHA-256 of its new key  ARGV[3] targets JSON  ARGV[4] actions JSON
-- ARGV[5] rate limit  ARGV[6] rate window (ms)  ARGV[7] created_at (ISO)  ARGV[8] '1' to replace
-- ARGV[9] callback URL prefixes JSON (optional; canonical, see shared/webhook.ts)
-- Returns JSON {ok=true, replaced=bool} or {ok=false, error='exists'}.
-- @include json_reply

local exists = redis.call('EXISTS', KEYS[1]) == 1
local revoked = redis.call('HEXISTS', KEYS[1], 'revoked_at') == 1
if exists and not revoked and ARGV[8] ~= '1' then return fail('exists') end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'agent_id', ARGV[1], 'key_hash', ARGV[2], 'targets', ARGV[3],
  'actions', ARGV[4], 'rate_limit', ARGV[5], 'rate_window_ms', ARGV[6], 'created_at', ARGV[7],
  'callbacks', ARGV[9] or '[]')
redis.call('SADD', KEYS[2], ARGV[1])
return reply({ ok = true, replaced = exists })
