-- agents_list: every agent's record, without its key hash. Operator-only: it reads the agent
-- hashes named by the index, which are not declared in KEYS (fine on a single Redis, not a cluster).
-- KEYS[1] agent index set
-- ARGV[1] the agent hash key prefix (keys.agent(''))
-- Returns JSON {ok=true, agents=[{agent_id, targets, actions, rate_limit, ...}]}.
-- @include json_reply

local out = {}
local ids = redis.call('SMEMBERS', KEYS[1])
table.sort(ids)
for _, id in ipairs(ids) do
  local flat = redis.call('HGETALL', ARGV[1] .. id)
  if #flat > 0 then
    local a = {}
    for i = 1, #flat, 2 do a[flat[i]] = flat[i + 1] end
    a.key_hash = nil
    a.targets = cjson.decode(a.targets)
    a.actions = cjson.decode(a.actions)
    a.callbacks = cjson.decode(a.callbacks or '[]')
    a.rate_limit = tonumber(a.rate_limit)
    a.rate_window_ms = tonumber(a.rate_window_ms)
    out[#out + 1] = a
  end
end
return reply({ ok = true, agents = out })
