-- lock_acquire: takes a target's deploy lock if it is free, and draws the next fencing token, so
-- that whoever acts on the target can tell a newer holder from a stale one.
-- KEYS[1] lock key  KEYS[2] fence counter (never expires: tokens only grow)
-- ARGV[1] owner token  ARGV[2] ttl (ms)
-- Returns JSON {ok=true, fence=n} or {ok=false, error='locked', holder=token, ttl_ms=n}.
-- @include json_reply

if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', tonumber(ARGV[2])) then
  return reply({ ok = true, fence = redis.call('INCR', KEYS[2]) })
end
return fail('locked', { holder = redis.call('GET', KEYS[1]), ttl_ms = redis.call('PTTL', KEYS[1]) })
