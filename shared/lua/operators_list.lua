-- operators_list: every operator's record, without its key hash. It reads the operator hashes
-- named by the index, which are not declared in KEYS (fine on a single Redis, not a cluster).
-- KEYS[1] operator index set
-- ARGV[1] the operator hash key prefix (keys.operator(''))
-- Returns JSON {ok=true, operators=[{operator_id, created_at, revoked_at?}]}.
-- @include json_reply

local out = {}
local ids = redis.call('SMEMBERS', KEYS[1])
table.sort(ids)
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', ARGV[1] .. id, 'operator_id', 'created_at', 'revoked_at')
  if f[1] then out[#out + 1] = { operator_id = f[1], created_at = f[2], revoked_at = f[3] or nil } end
end
return reply({ ok = true, operators = out })
