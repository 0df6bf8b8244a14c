-- direct_admit: the intake's own checks, for an entry an agent wrote straight to the request
-- stream (no status record came with it): the agent exists and is not revoked, the target and the
-- action are within its scope, and the entry counts against the agent's rate limit and the
-- target's change budget, as a submission over HTTP would. Nothing is charged unless all pass.
-- KEYS[1] agent record hash  KEYS[2] published targets hash  KEYS[3] agent rate window zset
-- KEYS[4] target budget zset
-- ARGV[1] now (ms)  ARGV[2] target  ARGV[3] action  ARGV[4] window member (unique per entry)
-- ARGV[5] default budget limit  ARGV[6] default budget window (ms)
-- Returns JSON {ok=true} or {ok=false, error=code, ...} with code one of unknown_agent, revoked,
-- target_out_of_scope, action_out_of_scope (with allowed), agent_rate_limited,
-- target_budget_exhausted (with limit, window_ms, retry_after_ms).
-- @include json_reply
-- @include authenticate
-- @include sliding_window

local now, target, action = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local f = redis.call('HMGET', KEYS[1], 'key_hash', 'revoked_at', 'targets', 'actions', 'rate_limit',
  'rate_window_ms')
if not f[1] then return fail('unknown_agent') end
if f[2] then return fail('revoked', { revoked_at = f[2] }) end
local targets, actions = cjson.decode(f[3]), cjson.decode(f[4])
if not (contains(targets, '*') or contains(targets, target)) then
  return fail('target_out_of_scope', { allowed = targets })
end
if not contains(actions, action) then return fail('action_out_of_scope', { allowed = actions }) end

local rate_limit, rate_window = tonumber(f[5]), tonumber(f[6])
local budget_limit, budget_window = tonumber(ARGV[5]), tonumber(ARGV[6])
local published = redis.call('HGET', KEYS[2], target)
if published then
  local t = cjson.decode(published)
  if type(t.budget) == 'table' then
    budget_limit, budget_window = tonumber(t.budget.limit), tonumber(t.budget.window_ms)
  end
end

local a_ok, _, a_reset = window_peek(KEYS[3], now, rate_limit, rate_window)
if not a_ok then
  return fail('agent_rate_limited', { limit = rate_limit, window_ms = rate_window, retry_after_ms = a_reset })
end
local b_ok, _, b_reset = window_peek(KEYS[4], now, budget_limit, budget_window)
if not b_ok then
  return fail('target_budget_exhausted', { limit = budget_limit, window_ms = budget_window, retry_after_ms = b_reset })
end
window_add(KEYS[3], now, rate_window, ARGV[4])
window_add(KEYS[4], now, budget_window, ARGV[4])
return reply({ ok = true })
