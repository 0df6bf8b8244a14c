-- dashboard: everything the operator dashboard shows, in one read-only call: the operator's key
-- check, the request queue and its consumer group, the runners' and targets' records as runners
-- published them, and the most recent requests with their timelines. The requests and timelines
-- it reads are named by the status stream, not declared in KEYS (fine on a single Redis, not a
-- cluster, as for agents_list). It writes nothing.
-- KEYS[1] operator record hash  KEYS[2] request stream  KEYS[3] dead-letter stream
-- KEYS[4] runners hash          KEYS[5] published targets hash  KEYS[6] status stream
-- ARGV[1] SHA-256 (hex) of the presented operator key  ARGV[2] the runners' consumer group
-- ARGV[3] most requests to return  ARGV[4] most status-stream entries to look through for them
-- ARGV[5] most timeline events per request (the latest)
-- ARGV[6] request status hash key prefix (keys.request(''))  ARGV[7] timeline key suffix
-- Returns JSON {ok=true, operator={operator_id, created_at},
--   queue={length, dead_letters, group={name, consumers, pending, last_delivered_id, lag?}?},
--   runners=[record JSON...], targets=[PublishedTarget JSON...],
--   requests=[{request_id, agent_id, target_agent, action, state, created_at, updated_at, detail?,
--     revision?, image?, coalesced_into?, description?, improvement_type?,
--     events=[{id, state, at, detail}...]}...] (newest first)}
-- or {ok=false, error='unauthenticated'|'revoked', revoked_at}.
-- @include json_reply
-- @include authenticate

local operator, err, revoked_at = load_operator(KEYS[1], ARGV[1])
if not operator then return fail(err, { revoked_at = revoked_at }) end

local function pairs_to_table(flat)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

local queue = { length = redis.call('XLEN', KEYS[2]), dead_letters = redis.call('XLEN', KEYS[3]) }
if redis.call('EXISTS', KEYS[2]) == 1 then
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[2])) do
    local info = pairs_to_table(g)
    if info.name == ARGV[2] then
      -- lag is nil (false here) when Redis cannot tell, e.g. after entries were deleted.
      queue.group = {
        name = info.name, consumers = info.consumers, pending = info.pending,
        last_delivered_id = info['last-delivered-id'], lag = info.lag or nil,
      }
    end
  end
end

local function values(hash)
  local out = {}
  local flat = redis.call('HGETALL', hash)
  for i = 2, #flat, 2 do out[#out + 1] = flat[i] end
  return out
end

local FIELDS = { 'request_id', 'agent_id', 'target_agent', 'action', 'state', 'created_at',
  'updated_at', 'detail', 'revision', 'image', 'coalesced_into', 'request' }

local requests, seen = {}, {}
local most = tonumber(ARGV[3])
for _, entry in ipairs(redis.call('XREVRANGE', KEYS[6], '+', '-', 'COUNT', tonumber(ARGV[4]))) do
  if #requests >= most then break end
  local id = pairs_to_table(entry[2]).request_id
  if id and not seen[id] then
    seen[id] = true
    local f = redis.call('HMGET', ARGV[6] .. id, unpack(FIELDS))
    -- A status record past its TTL is gone while the stream still names it: nothing to show.
    if f[5] then
      local r = {}
      for i, name in ipairs(FIELDS) do r[name] = f[i] or nil end
      -- Only what an operator reads at a glance; the whole request can be large.
      local ok, body = pcall(cjson.decode, r.request or '')
      if ok and type(body) == 'table' then
        r.description = type(body.description) == 'string' and body.description or nil
        r.improvement_type = type(body.improvement_type) == 'string' and body.improvement_type or nil
      end
      r.request = nil
      local events = {}
      local latest = redis.call('XREVRANGE', ARGV[6] .. id .. ARGV[7], '+', '-', 'COUNT', tonumber(ARGV[5]))
      for i = #latest, 1, -1 do
        local ev = pairs_to_table(latest[i][2])
        ev.id = latest[i][1]
        events[#events + 1] = ev
      end
      r.events = events
      requests[#requests + 1] = r
    end
  end
end

return reply({
  ok = true, operator = operator, queue = queue,
  runners = values(KEYS[4]), targets = values(KEYS[5]), requests = requests,
})
