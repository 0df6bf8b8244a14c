-- submit: the whole of an accepted submission in one round trip: authentication, scope, the
-- target's availability, idempotency, the agent's rate limit, the target's change budget, then
-- XADD to the request stream and the first status record. Nothing is written unless all pass.
-- KEYS[1] agent record hash       KEYS[2] published targets hash   KEYS[3] idempotency key
-- KEYS[4] agent rate window zset  KEYS[5] target budget zset       KEYS[6] request stream
-- KEYS[7] request status hash     KEYS[8] status stream            KEYS[9] request events stream
-- ARGV[1] SHA-256 of the API key  ARGV[2] now (ms)                 ARGV[3] request_id
-- ARGV[4] target                  ARGV[5] action                   ARGV[6] request JSON
-- ARGV[7] '1' if an Idempotency-Key was given                      ARGV[8] request fingerprint
-- ARGV[9] idempotency TTL (ms)    ARGV[10] default budget limit    ARGV[11] default budget window (ms)
-- ARGV[12] status TTL (ms)        ARGV[13] created_at (ISO)        ARGV[14] status stream max length
-- ARGV[15] the request's callback URL, canonical ('' for none)
-- ARGV[16] '1' if the agent chose the request id (its `id`)
-- Returns JSON:
--   {ok=true, request_id, entry_id, rate={limit, remaining, reset_ms, window_ms}}
--   {ok=true, replayed=true, request_id, created_at}
--   {ok=false, error=code, ...} with code one of unauthenticated, revoked, target_out_of_scope,
--   action_out_of_scope, no_targets_published, target_not_enabled, target_expired,
--   action_not_enabled, callback_not_allowed, idempotency_key_reused, request_id_reused,
--   agent_rate_limited, target_budget_exhausted
--   (the last two with limit, window_ms, retry_after_ms).
-- @include json_reply
-- @include authenticate
-- @include sliding_window

local now = tonumber(ARGV[2])
local request_id, target, action = ARGV[3], ARGV[4], ARGV[5]

local agent, err, revoked_at = load_agent(KEYS[1], ARGV[1])
if not agent then return fail(err, { revoked_at = revoked_at }) end

-- A retry with the same key gets the first answer, even if limits or targets changed since.
if ARGV[7] == '1' then
  local first = redis.call('GET', KEYS[3])
  if first then
    local stored = cjson.decode(first)
    if stored.fingerprint ~= ARGV[8] then return fail('idempotency_key_reused') end
    return reply({ ok = true, replayed = true, request_id = stored.request_id, created_at = stored.created_at })
  end
end

-- An id the agent chose names one request for good. The same request again is a retry and gets
-- the first answer; anything else under that id is refused, and the refusal is the same whoever
-- holds the id, so it tells nothing about another agent's request.
if ARGV[16] == '1' then
  local held = redis.call('HMGET', KEYS[7], 'agent_id', 'fingerprint', 'created_at')
  if held[1] then
    if held[1] == agent.agent_id and held[2] == ARGV[8] then
      return reply({ ok = true, replayed = true, request_id = request_id, created_at = held[3] })
    end
    return fail('request_id_reused')
  end
end

if not (contains(agent.targets, '*') or contains(agent.targets, target)) then
  return fail('target_out_of_scope', { allowed = agent.targets })
end
if not contains(agent.actions, action) then
  return fail('action_out_of_scope', { allowed = agent.actions })
end

-- Callback prefixes end in '/' after the host (shared/webhook.ts), so a plain prefix test is safe.
local callback = ARGV[15] or ''
if callback ~= '' then
  local allowed = cjson.decode(redis.call('HGET', KEYS[1], 'callbacks') or '[]')
  local ok = false
  for _, p in ipairs(allowed) do
    if string.sub(callback, 1, #p) == p then ok = true end
  end
  if not ok then return fail('callback_not_allowed', { allowed = allowed }) end
end

local published = redis.call('HGET', KEYS[2], target)
if not published then
  if redis.call('HLEN', KEYS[2]) == 0 then return fail('no_targets_published') end
  return fail('target_not_enabled')
end
local t = cjson.decode(published)
if tonumber(t.expires_at) <= now then return fail('target_expired') end
if not contains(t.actions or {}, action) then
  return fail('action_not_enabled', { allowed = t.actions })
end

local budget_limit, budget_window = tonumber(ARGV[10]), tonumber(ARGV[11])
if type(t.budget) == 'table' then
  budget_limit, budget_window = tonumber(t.budget.limit), tonumber(t.budget.window_ms)
end

-- Both limits are checked before either is charged, so a refusal costs nothing.
local a_ok, a_used, a_reset = window_peek(KEYS[4], now, agent.rate_limit, agent.rate_window_ms)
if not a_ok then
  return fail('agent_rate_limited', { limit = agent.rate_limit, window_ms = agent.rate_window_ms, retry_after_ms = a_reset })
end
local b_ok, _, b_reset = window_peek(KEYS[5], now, budget_limit, budget_window)
if not b_ok then
  return fail('target_budget_exhausted', { limit = budget_limit, window_ms = budget_window, retry_after_ms = b_reset })
end
local member = ARGV[2] .. ':' .. request_id
window_add(KEYS[4], now, agent.rate_window_ms, member)
window_add(KEYS[5], now, budget_window, member)

local entry_id = redis.call('XADD', KEYS[6], '*', 'payload', ARGV[6])
local created_at = ARGV[13]
redis.call('HSET', KEYS[7],
  'request_id', request_id, 'agent_id', agent.agent_id, 'target_agent', target, 'action', action,
  'state', 'queued', 'created_at', created_at, 'updated_at', created_at, 'entry_id', entry_id,
  'request', ARGV[6], 'fingerprint', ARGV[8])
redis.call('PEXPIRE', KEYS[7], tonumber(ARGV[12]))
redis.call('XADD', KEYS[8], 'MAXLEN', '~', tonumber(ARGV[14]), '*',
  'request_id', request_id, 'state', 'queued', 'at', created_at)
redis.call('XADD', KEYS[9], '*', 'state', 'queued', 'at', created_at, 'detail', 'accepted by the intake')
redis.call('PEXPIRE', KEYS[9], tonumber(ARGV[12]))
if ARGV[7] == '1' then
  redis.call('SET', KEYS[3],
    cjson.encode({ request_id = request_id, fingerprint = ARGV[8], created_at = created_at }),
    'PX', tonumber(ARGV[9]))
end

local used = a_used + 1
local reset = a_reset
if used == 1 then reset = agent.rate_window_ms end
return reply({
  ok = true, request_id = request_id, entry_id = entry_id,
  rate = { limit = agent.rate_limit, remaining = agent.rate_limit - used, reset_ms = reset, window_ms = agent.rate_window_ms },
})
