-- Constant-time comparison of two hex digests: the loop never exits early, so timing does not
-- tell how many leading characters matched.
local function digest_equals(a, b)
  local diff = (#a == #b) and 0 or 1
  local n = math.max(#a, #b)
  for i = 1, n do
    diff = bit.bor(diff, bit.bxor(string.byte(a, i) or 0, string.byte(b, i) or 0))
  end
  return diff == 0
end

-- Returns the agent record as a table, or nil and an error code.
local function load_agent(agent_key, presented_hash)
  local f = redis.call('HMGET', agent_key, 'key_hash', 'revoked_at', 'targets', 'actions',
    'rate_limit', 'rate_window_ms', 'agent_id', 'created_at')
  local stored = f[1] or string.rep('0', 64)
  local matches = digest_equals(presented_hash, stored)
  if not f[1] or not matches then return nil, 'unauthenticated' end
  if f[2] then return nil, 'revoked', f[2] end
  return {
    agent_id = f[7],
    targets = cjson.decode(f[3]),
    actions = cjson.decode(f[4]),
    rate_limit = tonumber(f[5]),
    rate_window_ms = tonumber(f[6]),
    created_at = f[8],
  }
end

local function contains(list, value)
  for _, v in ipairs(list) do
    if v == value then return true end
  end
  return false
end
