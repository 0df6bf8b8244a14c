-- feed_open: takes one of an agent's live-feed places, or says when one may free up. A place is
-- a member of a sorted set scored by when it lapses (the feed's longest life plus a margin), so
-- the places of an intake that died free themselves; a feed that ends gives its place back
-- (feed_close). Kept in Redis, not in the process: Workers isolates and several Node intakes
-- share one agent's cap.
-- KEYS[1] the agent's live feeds (sorted set: feed id -> lapses at, ms)
-- ARGV[1] now (ms), ARGV[2] lapses at (ms), ARGV[3] feed id, ARGV[4] the cap
-- Returns JSON {ok=true} or {ok=false, error='too_many_feeds', limit=n, retry_after_ms=ms}
-- (retry_after_ms: until the oldest place lapses, the latest a place frees).
-- @include json_reply

local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return fail('too_many_feeds', { limit = limit, retry_after_ms = tonumber(oldest[2]) - now })
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return reply({ ok = true })
