-- Every script answers with one JSON string, so that ioredis and the Upstash REST client return
-- the same thing (Lua tables lose nils and empty arrays in RESP conversion).
local function reply(t) return cjson.encode(t) end
local function fail(code, extra)
  local t = extra or {}
  t.ok = false
  t.error = code
  return cjson.encode(t)
end
