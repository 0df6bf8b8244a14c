-- operator_authenticate: checks an operator's key (the dashboard's sign-in).
-- KEYS[1] operator record hash
-- ARGV[1] SHA-256 (hex) of the presented operator key
-- Returns JSON {ok=true, operator={operator_id, created_at}} or
-- {ok=false, error='unauthenticated'|'revoked', revoked_at}.
-- @include json_reply
-- @include authenticate

local operator, err, revoked_at = load_operator(KEYS[1], ARGV[1])
if not operator then return fail(err, { revoked_at = revoked_at }) end
return reply({ ok = true, operator = operator })
