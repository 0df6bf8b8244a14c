-- Compares two hex digests without leaking, through timing, anything useful: Lua's string
-- equality stops at the first difference, so it compares the SHA-1 of each side (computed in C)
-- instead. An early exit can then only reveal bits of a hash of the stored hash, from which no
-- key can be derived (the "double hashing" comparison). A byte loop in Lua did the same in
-- constant time but cost a sixth of the whole submission script.
local function digest_equals(a, b)
  return redis.sha1hex(a) == redis.sha1hex(b)
end

-- Why a record's stored key hash and revocation refuse a presented key hash, or nil if they do
-- not. The digests are compared even when nothing is stored, so an unknown id costs the same time.
local function key_refusal(stored, revoked_at, presented_hash)
  local matches = digest_equals(presented_hash, stored or string.rep('0', 64))
  if not stored or not matches then return 'unauthenticated' end
  if revoked_at then return 'revoked' end
  return nil
end

-- Returns the agent record as a table, or nil and an error code.
local function load_agent(agent_key, presented_hash)
  local f = redis.call('HMGET', agent_key, 'key_hash', 'revoked_at', 'targets', 'actions',
    'rate_limit', 'rate_window_ms', 'agent_id', 'created_at')
  local err = key_refusal(f[1], f[2], presented_hash)
  if err then return nil, err, f[2] or nil end
  return {
    agent_id = f[7],
    targets = cjson.decode(f[3]),
    actions = cjson.decode(f[4]),
    rate_limit = tonumber(f[5]),
    rate_window_ms = tonumber(f[6]),
    created_at = f[8],
  }
end

-- Returns the operator record (a dashboard sign-in) as a table, or nil and an error code.
local function load_operator(operator_key, presented_hash)
  local f = redis.call('HMGET', operator_key, 'key_hash', 'revoked_at', 'operator_id', 'created_at')
  local err = key_refusal(f[1], f[2], presented_hash)
  if err then return nil, err, f[2] or nil end
  return { operator_id = f[3], created_at = f[4] }
end

local function contains(list, value)
  for _, v in ipairs(list) do
    if v == value then return true end
  end
  return false
end
