-- dlq_list: reads dead letters for an operator, in stream order, with the stream's length.
-- KEYS[1] dead-letter stream
-- ARGV[1] first id ('-' for the oldest, '(id' for after id)  ARGV[2] last id ('+' for the newest)
-- ARGV[3] most entries to return  ARGV[4] 'newest' to take them from the newest end
-- Returns JSON {ok=true, length=n, entries=[{id, fields={entry_id, request_id, reason, ...}}]},
-- entries oldest first either way.
-- @include json_reply

local count = tonumber(ARGV[3])
local found
if ARGV[4] == 'newest' then
  found = redis.call('XREVRANGE', KEYS[1], ARGV[2], ARGV[1], 'COUNT', count)
else
  found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[2], 'COUNT', count)
end
local entries = {}
for i = 1, #found do
  local e = ARGV[4] == 'newest' and found[#found + 1 - i] or found[i]
  local fields = {}
  for j = 1, #e[2], 2 do fields[e[2][j]] = e[2][j + 1] end
  entries[i] = { id = e[1], fields = fields }
end
return reply({ ok = true, length = redis.call('XLEN', KEYS[1]), entries = entries })
