-- meet-agent's JWT self-test, run with prosody's own interpreter (lua5.4) by the jitsi step
-- (agent/src/jitsi/jwt_check.rs). It loads the libraries Jitsi's token plugin loads
-- (jitsi-meet resources/prosody-plugins/token/util.lib.lua and luajwtjitsi.lib.lua:
-- basexx, cjson.safe, openssl.hmac; inspect for their debug output) and checks HS256
-- tokens with them the way those files do: split at the dots, base64url-decode, HMAC-SHA256
-- over "header.payload" with the secret, JSON claims.
--
-- Input on stdin (a secret never goes on a command line): the secret, hex-encoded (so any
-- byte survives the line protocol), on the first line, then one token per line. Output: one line per token, "valid" or "invalid: why".
-- Exit 0 when every token was judged; 3 with "missing LIBRARY: error" when a library does
-- not load (the case prosody would log as "Error initializing module 'auth_token'").

local libs = {}
for _, name in ipairs({ "basexx", "cjson.safe", "openssl.hmac", "inspect" }) do
  local ok, lib = pcall(require, name)
  if not ok then
    io.write("missing ", name, ": ", (tostring(lib):gsub("%s+", " ")), "\n")
    os.exit(3)
  end
  libs[name] = lib
end
local basexx, json, hmac, inspect = libs["basexx"], libs["cjson.safe"], libs["openssl.hmac"], libs["inspect"]

-- Compares two strings in time that does not depend on where they differ.
local function same(a, b)
  if #a ~= #b then return false end
  local diff = 0
  for i = 1, #a do
    diff = diff | (a:byte(i) ~ b:byte(i))
  end
  return diff == 0
end

local function judge(secret, token)
  local h, p, s = token:match("^([%w_-]+)%.([%w_-]+)%.([%w_-]*)$")
  if not h then return "invalid: not three base64url parts" end
  local header = json.decode(basexx.from_url64(h) or "")
  if type(header) ~= "table" then return "invalid: header is not JSON" end
  if header.alg ~= "HS256" then return "invalid: alg is " .. inspect(header.alg) .. ", not HS256" end
  local claims = json.decode(basexx.from_url64(p) or "")
  if type(claims) ~= "table" then return "invalid: payload is not JSON" end
  local mac = hmac.new(secret, "sha256"):final(h .. "." .. p)
  if not same(mac, basexx.from_url64(s) or "") then return "invalid: signature" end
  return "valid " .. inspect(claims.room)
end

local hex = io.read("l")
if not hex or not hex:match("^%x*$") or #hex % 2 ~= 0 then
  io.write("invalid: no hex-encoded secret on the first line of stdin\n")
  os.exit(2)
end
local secret = hex:gsub("%x%x", function(c) return string.char(tonumber(c, 16)) end)
for token in io.lines() do
  io.write(judge(secret, token), "\n")
end
