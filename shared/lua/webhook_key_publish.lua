-- webhook_key_publish: a runner's periodic announcement of the public key its webhooks are signed
-- with (shared/protocol/webhook-key.ts), and the pruning of keys whose expiry has passed, whoever
-- published them: a runner that restarted with a new key, or stopped, leaves its old key listed
-- until then (the grace in which receivers may still verify what it signed), and not after.
-- KEYS[1] webhook keys hash
-- ARGV[1] key id  ARGV[2] the key's record (JSON, with expires_at)  ARGV[3] now (ms)
-- Returns JSON {ok=true, pruned=[key ids]}.
-- @include json_reply

local now = tonumber(ARGV[3])
local pruned = {}
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat, 2 do
  local ok, k = pcall(cjson.decode, flat[i + 1])
  if flat[i] ~= ARGV[1] and (not ok or type(k) ~= 'table' or (tonumber(k.expires_at) or 0) <= now) then
    redis.call('HDEL', KEYS[1], flat[i])
    pruned[#pruned + 1] = flat[i]
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return reply({ ok = true, pruned = pruned })
