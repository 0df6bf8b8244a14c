-- entry_redeliver: takes up again an entry this consumer left pending to retry later (after a
-- backoff, or while its target was locked), only if it is still this consumer's: meanwhile
-- another runner may have reclaimed it, or acknowledged it when coalescing.
-- KEYS[1] request stream
-- ARGV[1] group  ARGV[2] consumer  ARGV[3] entry id  ARGV[4] '1' to count this as a delivery
-- (a retry after a failure), '0' not to (waiting for a lock is not a failed delivery)
-- Returns JSON {ok=true, fields=[field, value, ...], deliveries=n}
-- or {ok=false, error='not_owner'|'gone'} ('gone': the entry was trimmed or deleted; it is acked).
-- @include json_reply

local id = ARGV[3]
local p = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
if #p == 0 or p[1][2] ~= ARGV[2] then return fail('not_owner') end
local entries = redis.call('XRANGE', KEYS[1], id, id)
if #entries == 0 then
  redis.call('XACK', KEYS[1], ARGV[1], id)
  return fail('gone')
end
local deliveries = p[1][4]
if ARGV[4] == '1' then deliveries = deliveries + 1 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'RETRYCOUNT', deliveries, 'JUSTID')
return reply({ ok = true, fields = entries[1][2], deliveries = deliveries })
