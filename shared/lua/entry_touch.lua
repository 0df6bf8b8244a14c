-- entry_touch: the heartbeat of the entries a runner holds. Resets their idle time so that no
-- other runner reclaims them (ARGV[3] = 0), or sets it to the claim idle time so that others may
-- reclaim them at once (handing them back on shutdown). An entry that another consumer claimed
-- meanwhile, or that was acknowledged, is left alone and reported, so a heartbeat never steals.
-- KEYS[1] request stream
-- ARGV[1] group  ARGV[2] consumer  ARGV[3] idle time to set (ms)  ARGV[4..] entry ids
-- Returns JSON {ok=true, lost=[ids no longer pending on this consumer]}.
-- @include json_reply

local lost = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
  if #p == 1 and p[1][2] == ARGV[2] then
    -- JUSTID: a heartbeat is not a delivery, the delivery counter stays as it is.
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'IDLE', tonumber(ARGV[3]), 'JUSTID')
  else
    lost[#lost + 1] = id
  end
end
return reply({ ok = true, lost = lost })
