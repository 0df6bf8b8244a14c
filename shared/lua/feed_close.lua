-- feed_close: gives back a live-feed place that feed_open took, when the feed ends.
-- KEYS[1] the agent's live feeds (sorted set)
-- ARGV[1] feed id
-- Returns JSON {ok=true} (also when the place had lapsed already).
-- @include json_reply

redis.call('ZREM', KEYS[1], ARGV[1])
return reply({ ok = true })
