-- read_request: an agent reads one of its own requests, with its timeline.
-- KEYS[1] agent record hash, KEYS[2] request status hash, KEYS[3] request events stream
-- ARGV[1] SHA-256 (hex) of the presented API key, ARGV[2] most events to return,
-- ARGV[3] return only events after this events-stream id ('' for all)
-- Returns JSON {ok=true, status={field=value...}, events=[{id, state, at, detail}...]} or
-- {ok=false, error='unauthenticated'|'revoked'|'not_found'}. Another agent's request is
-- 'not_found', so ids do not leak.
-- @include json_reply
-- @include authenticate

local agent, err, revoked_at = load_agent(KEYS[1], ARGV[1])
if not agent then return fail(err, { revoked_at = revoked_at }) end

local flat = redis.call('HGETALL', KEYS[2])
if #flat == 0 then return fail('not_found') end
local status = {}
for i = 1, #flat, 2 do status[flat[i]] = flat[i + 1] end
if status.agent_id ~= agent.agent_id then return fail('not_found') end

local events = {}
local start = (ARGV[3] and ARGV[3] ~= '') and ('(' .. ARGV[3]) or '-'
local entries = redis.call('XRANGE', KEYS[3], start, '+', 'COUNT', tonumber(ARGV[2]))
for _, e in ipairs(entries) do
  local ev = { id = e[1] }
  local kv = e[2]
  for i = 1, #kv, 2 do ev[kv[i]] = kv[i + 1] end
  events[#events + 1] = ev
end
return reply({ ok = true, status = status, events = events })
