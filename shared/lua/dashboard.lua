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
-- ARGV[8] most changed files to list per request  ARGV[9] most bytes of test results per request
-- Returns JSON {ok=true, operator={operator_id, created_at},
--   queue={length, dead_letters, group={name, consumers, pending, last_delivered_id, lag?}?},
--   runners=[record JSON...], targets=[PublishedTarget JSON...],
--   requests=[{request_id, agent_id, target_agent, action, state, created_at, updated_at, detail?,
--     revision?, image?, coalesced_into?, carrier_state?, description?, improvement_type?,
--     priority?, timestamp?, files_changed=[first ARGV[8] names]?, files_more?,
--     test_results=JSON text of at most ARGV[9] bytes?, test_results_truncated?,
--     events=[{id, state, at, detail}...]}...] (newest first)}
--   The request's fields are those the agent sent (timestamp is its own clock). test_results is
--   encoded again by cjson: key order is lost and an empty list reads as {}.
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
  'updated_at', 'detail', 'revision', 'image', 'coalesced_into', 'carrier_state', 'request' }
local MAX_FILES, MAX_TEST_RESULTS = tonumber(ARGV[8]), tonumber(ARGV[9])

local function text_or_nil(v) return type(v) == 'string' and v or nil end

-- The upstream facts of a request, bounded: a request may list 256 files and 16 KiB of results.
local function add_upstream(r, body)
  r.priority = text_or_nil(body.priority)
  r.timestamp = text_or_nil(body.timestamp)
  if type(body.files_changed) == 'table' and #body.files_changed > 0 then
    local files = {}
    for i = 1, math.min(#body.files_changed, MAX_FILES) do files[i] = tostring(body.files_changed[i]) end
    r.files_changed = files
    r.files_more = #body.files_changed - #files
  end
  local encoded, text = false, nil
  if type(body.test_results) == 'table' then encoded, text = pcall(cjson.encode, body.test_results) end
  if encoded then
    if #text > MAX_TEST_RESULTS then
      -- Cut before a UTF-8 continuation byte, so the text stays valid.
      local cut = MAX_TEST_RESULTS
      while cut > 0 and text:byte(cut + 1) >= 0x80 and text:byte(cut + 1) < 0xC0 do cut = cut - 1 end
      text = text:sub(1, cut)
      r.test_results_truncated = true
    end
    r.test_results = text
  end
end

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
        r.description = text_or_nil(body.description)
        r.improvement_type = text_or_nil(body.improvement_type)
        add_upstream(r, body)
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
