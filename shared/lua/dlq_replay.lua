-- dlq_replay: puts a dead letter back on the request stream, as a new entry with the original
-- fields, and deletes it from the dead-letter stream, in one step: it is in exactly one of them.
-- A request the runner dead-lettered (its status record is `dead_lettered` and names the original
-- entry) is revived: back to `queued`, pointing at the new entry, with the move in the status
-- stream and its timeline, so the runner carries it out instead of acknowledging it as finished.
-- That is the one way out of `dead_lettered`: an operator's decision, so it lives here and not in
-- the state machine runners follow (shared/protocol/status.ts). The timeline keeps the record's
-- TTL; the status stream is trimmed by the runner's next write.
-- KEYS[1] dead-letter stream  KEYS[2] request stream
-- KEYS[3] request status hash  KEYS[4] status stream  KEYS[5] request events stream: only when the
-- dead letter names a request
-- ARGV[1] dead-letter entry id  ARGV[2] the request_id the caller read in it ('' for none)
-- ARGV[3] now (ISO)
-- Returns JSON {ok=true, entry_id=new request stream id, revived=bool} or {ok=false, error=code}
-- with code 'not_found' (no such dead letter), 'mismatch' (it names another request than
-- ARGV[2]), 'no_fields' (nothing to replay), or 'not_dead_lettered' (with state: the request's
-- record moved on; replaying would do nothing).
-- @include json_reply

local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #found == 0 then return fail('not_found') end
local dl = {}
for i = 1, #found[1][2], 2 do dl[found[1][2][i]] = found[1][2][i + 1] end
if (dl.request_id or '') ~= ARGV[2] or (ARGV[2] ~= '' and #KEYS < 5) then return fail('mismatch') end

local ok, fields = pcall(cjson.decode, dl.fields or '')
if not ok or type(fields) ~= 'table' then return fail('no_fields') end
local names = {}
for name, value in pairs(fields) do
  if type(value) == 'string' then names[#names + 1] = name end
end
if #names == 0 then return fail('no_fields') end
table.sort(names)
local args = {}
for _, name in ipairs(names) do
  args[#args + 1] = name
  args[#args + 1] = fields[name]
end

local revive = false
if ARGV[2] ~= '' then
  local record = redis.call('HMGET', KEYS[3], 'state', 'entry_id')
  if record[1] then
    if record[1] ~= 'dead_lettered' or record[2] ~= dl.entry_id then
      return fail('not_dead_lettered', { state = record[1] })
    end
    revive = true
  end
end

local id = redis.call('XADD', KEYS[2], '*', unpack(args))
redis.call('XDEL', KEYS[1], ARGV[1])
if revive then
  local at = ARGV[3]
  local detail = 'replayed from the dead-letter stream by an operator (it was entry ' .. dl.entry_id .. ')'
  redis.call('HSET', KEYS[3], 'state', 'queued', 'updated_at', at, 'entry_id', id, 'detail', detail)
  redis.call('XADD', KEYS[4], '*', 'request_id', ARGV[2], 'state', 'queued', 'at', at, 'detail', detail)
  redis.call('XADD', KEYS[5], '*', 'state', 'queued', 'at', at, 'detail', detail)
  local ttl = redis.call('PTTL', KEYS[3])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[5], ttl) end
end
return reply({ ok = true, entry_id = id, revived = revive })
