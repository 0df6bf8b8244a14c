-- dlq_drop: deletes dead letters for good, at an operator's request.
-- KEYS[1] dead-letter stream
-- ARGV[1..] dead-letter entry ids
-- Returns JSON {ok=true, dropped=[ids that were there and are gone]}.
-- @include json_reply

local dropped = {}
for _, id in ipairs(ARGV) do
  if redis.call('XDEL', KEYS[1], id) == 1 then dropped[#dropped + 1] = id end
end
return reply({ ok = true, dropped = dropped })
