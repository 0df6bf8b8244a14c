-- transition: moves a request to a new state if, and only if, its current state allows it, and
-- appends the move to the global status stream and to the request's own timeline.
-- KEYS[1] request status hash  KEYS[2] status stream  KEYS[3] request events stream
-- ARGV[1] request_id  ARGV[2] new state  ARGV[3] states it may be entered from, as ",a,b,"
-- ARGV[4] now (ISO)   ARGV[5] detail ('' for none)  ARGV[6] status TTL (ms)
-- ARGV[7] status stream max length   ARGV[8] JSON object of fields to create the record with when
-- it does not exist ('' to refuse), ARGV[9..] field, value pairs to set with the move.
-- Returns JSON {ok=true, from=state|nil} or {ok=false, error='invalid_transition', current=state}
-- or {ok=false, error='not_found'}.
-- @include json_reply

local to, at, detail = ARGV[2], ARGV[4], ARGV[5]
local current = redis.call('HGET', KEYS[1], 'state')
if not current then
  if ARGV[8] == '' then return fail('not_found') end
  local initial = cjson.decode(ARGV[8])
  for k, v in pairs(initial) do redis.call('HSET', KEYS[1], k, tostring(v)) end
  redis.call('HSET', KEYS[1], 'request_id', ARGV[1], 'created_at', initial.created_at or at)
elseif not string.find(ARGV[3], ',' .. current .. ',', 1, true) then
  return fail('invalid_transition', { current = current })
end

redis.call('HSET', KEYS[1], 'state', to, 'updated_at', at)
if detail ~= '' then redis.call('HSET', KEYS[1], 'detail', detail) end
for i = 9, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[6]))
redis.call('XADD', KEYS[2], 'MAXLEN', '~', tonumber(ARGV[7]), '*',
  'request_id', ARGV[1], 'state', to, 'at', at, 'detail', detail)
redis.call('XADD', KEYS[3], '*', 'state', to, 'at', at, 'detail', detail)
redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[6]))
return reply({ ok = true, from = current or nil })
