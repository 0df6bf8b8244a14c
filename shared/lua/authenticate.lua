-- authenticate: checks an agent's API key and returns its record.
-- KEYS[1] agent record hash
-- ARGV[1] SHA-256 (hex) of the presented API key
-- Returns JSON {ok=true, agent={...}} or {ok=false, error='unauthenticated'|'revoked'}.
-- @include json_reply
-- @include authenticate

local agent, err, revoked_at = load_agent(KEYS[1], ARGV[1])
if not agent then return fail(err, { revoked_at = revoked_at }) end
return reply({ ok = true, agent = agent })
