-- Sliding-window log: a sorted set of accepted submissions scored by time. Exact (at most `limit`
-- in any window), unlike fixed windows (2x at the boundary) or GCRA (limit+1 within one window).
-- Returns allowed, used, ms until the oldest counted entry leaves the window.
local function window_peek(key, now, limit, window)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local used = redis.call('ZCARD', key)
  local reset = window
  if used > 0 then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    reset = tonumber(oldest[2]) + window - now
  end
  return used < limit, used, reset
end

local function window_add(key, now, window, member)
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, window)
end
