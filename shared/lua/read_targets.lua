-- read_targets: the targets an agent may request, with the actions it may request on each.
-- KEYS[1] agent record hash, KEYS[2] published targets hash
-- ARGV[1] SHA-256 (hex) of the presented API key, ARGV[2] now (ms)
-- Returns JSON {ok=true, agent={...}, targets=[PublishedTarget...]} (live entries only, within the
-- agent's scope, actions narrowed to the agent's) or {ok=false, error=...}.
-- @include json_reply
-- @include authenticate

local agent, err, revoked_at = load_agent(KEYS[1], ARGV[1])
if not agent then return fail(err, { revoked_at = revoked_at }) end
local now = tonumber(ARGV[2])
local any = contains(agent.targets, '*')

local out = {}
local flat = redis.call('HGETALL', KEYS[2])
for i = 1, #flat, 2 do
  local ok, t = pcall(cjson.decode, flat[i + 1])
  if ok and type(t) == 'table' and tonumber(t.expires_at) and tonumber(t.expires_at) > now
      and (any or contains(agent.targets, flat[i])) then
    local actions = {}
    for _, a in ipairs(t.actions or {}) do
      if contains(agent.actions, a) then actions[#actions + 1] = a end
    end
    t.actions = actions
    out[#out + 1] = t
  end
end
return reply({ ok = true, agent = agent, targets = out })
