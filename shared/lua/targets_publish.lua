-- targets_publish: a runner's periodic announcement, in one step: the targets it serves (read by
-- the intake) and its own liveness record. Targets this runner announced before and no longer
-- serves are removed; any target or runner entry whose expiry has passed is pruned, whoever wrote
-- it, so the hashes do not collect runners that died.
-- KEYS[1] published targets hash  KEYS[2] runners hash
-- ARGV[1] runner id  ARGV[2] now (ms)  ARGV[3] this runner's record (JSON, with expires_at)
-- ARGV[4..] target, PublishedTarget JSON pairs
-- Returns JSON {ok=true, removed=[targets], pruned_runners=[runner ids]}.
-- @include json_reply

local runner, now = ARGV[1], tonumber(ARGV[2])
local serving = {}
for i = 4, #ARGV, 2 do serving[ARGV[i]] = true end

local function stale(raw, owner)
  local ok, t = pcall(cjson.decode, raw)
  if not ok or type(t) ~= 'table' then return true end
  if (tonumber(t.expires_at) or 0) <= now then return true end
  return owner ~= nil and t.runner_id == owner
end

local removed = {}
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat, 2 do
  if not serving[flat[i]] and stale(flat[i + 1], runner) then
    redis.call('HDEL', KEYS[1], flat[i])
    removed[#removed + 1] = flat[i]
  end
end
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end

local pruned = {}
redis.call('HSET', KEYS[2], runner, ARGV[3])
flat = redis.call('HGETALL', KEYS[2])
for i = 1, #flat, 2 do
  if flat[i] ~= runner and stale(flat[i + 1], nil) then
    redis.call('HDEL', KEYS[2], flat[i])
    pruned[#pruned + 1] = flat[i]
  end
end
return reply({ ok = true, removed = removed, pruned_runners = pruned })
