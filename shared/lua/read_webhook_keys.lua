-- read_webhook_keys: the webhook public keys a receiver may verify with now. Public keys, so no
-- credential is asked for; read-only, so expired entries are skipped here and pruned by the next
-- webhook_key_publish.
-- KEYS[1] webhook keys hash
-- ARGV[1] now (ms)
-- Returns JSON {ok=true, keys=[webhook key record JSON strings]} (unexpired only; the caller parses
-- each with its schema).
-- @include json_reply

local now = tonumber(ARGV[1])
local out = {}
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat, 2 do
  local ok, k = pcall(cjson.decode, flat[i + 1])
  if ok and type(k) == 'table' and (tonumber(k.expires_at) or 0) > now then out[#out + 1] = flat[i + 1] end
end
return reply({ ok = true, keys = out })
