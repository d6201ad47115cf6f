-- mod_ryo_conference_mapper: ryo-jitsi's dial-in PIN service, the "conference mapper" that
-- the jitsi-meet web app's config.dialInConfCodeUrl points at and that an IVR asks with the
-- PIN a caller typed. Upstream serves it only as a hosted service (meet.jit.si, JaaS); this
-- is our own, written to the API the web app calls (jitsi/jitsi-meet
-- react/features/invite/_utils.ts getDialInConferenceID, and the conference mapper of
-- resources/cloud-api.swagger), read 2026-12:
--
--   GET ?conference=ROOM@MUC[&url=...]  200 {message, id, conference}: the room's PIN, made
--                                       the first time it is asked for and kept
--   GET ?id=PIN                         200 {message, id, conference}, or 404 with
--                                       conference = false when no room has that PIN
--   anything else                       400 {message}
--
-- Loaded on the auth.DOMAIN VirtualHost (meet-agent's prosody file), whose storage is kept:
-- an anonymous host, the site's in open mode, drops what its modules store. nginx proxies
-- /_api/conference-mapper here with a per-address rate limit, which is what makes guessing
-- PINs slow. PINs are random (prosody's util.random: the kernel's generator), DIGITS long
-- without a leading zero, and never handed to a second room. Both directions are kept in
-- prosody's storage (for the default internal store, one small file per key written
-- atomically), so a PIN survives restarts and reboots. Written for Lua 5.4 (64-bit integers),
-- which Debian's Prosody 13 runs on.

local formdecode = require "util.http".formdecode;
local json = require "util.json";
local jid = require "util.jid";
local random = require "util.random";
local sha256 = require "util.hashes".sha256;

module:depends("http");

-- The MUC whose rooms get PINs; other hosts' rooms are refused.
local muc = module:get_option_string("ryo_conference_mapper_muc", "conference." .. module.host);
-- 10 digits, as meet.jit.si's: 9e9 PINs, so a server with 10,000 rooms answers about one
-- guess in 900,000, and nginx allows an address a few guesses a second.
local digits = module:get_option_integer("ryo_conference_mapper_digits", 10, 6, 15);
local store = module:open_store("ryo_conference_mapper");

-- The smallest PIN and how many there are: [low, low + span).
local low = math.tointeger(10 ^ (digits - 1));
local span = 9 * low;
-- Longest parameter value read (a room JID is at most 3 x 1023 bytes by RFC 7622).
local MAX_PARAM = 3072;

local function answer(code, body)
	return {
		status_code = code;
		headers = { content_type = "application/json"; cache_control = "no-store" };
		body = json.encode(body);
	};
end

-- A uniformly drawn PIN: 7 random bytes (56 bits), redrawn above the largest multiple of
-- the span so that no PIN is likelier than another.
local function draw()
	local limit = ((1 << 56) // span) * span;
	while true do
		local value = 0;
		for _, byte in ipairs({ random.bytes(7):byte(1, 7) }) do
			value = (value << 8) | byte;
		end
		if value < limit then
			return low + value % span;
		end
	end
end

local function room_key(conference)
	return "r" .. sha256(conference, true);
end

-- The room's PIN, made and stored the first time; nil and an error when storage fails.
local function pin_for(conference)
	local key = room_key(conference);
	local known, err = store:get(key);
	if err then return nil, err; end
	if known and known.pin then return known.pin; end
	-- Prosody runs handlers one at a time, so nothing can take the PIN between the check
	-- and the writes.
	for _ = 1, 20 do
		local pin = draw();
		local taken, taken_err = store:get("p" .. pin);
		if taken_err then return nil, taken_err; end
		if not taken then
			-- The PIN's entry first: if the second write fails, the PIN is only reserved.
			local ok, set_err = store:set("p" .. pin, { conference = conference });
			if not ok then return nil, set_err; end
			ok, set_err = store:set(key, { pin = pin });
			if not ok then return nil, set_err; end
			module:log("info", "Dial-in PIN made for %s", conference);
			return pin;
		end
	end
	return nil, "no free PIN after 20 draws";
end

local function by_conference(conference)
	if #conference > MAX_PARAM then
		return answer(400, { message = "The conference parameter is too long" });
	end
	local node, host, resource = jid.prepped_split(conference);
	if not node or resource or host ~= muc then
		return answer(400, { message = "The conference parameter is not a room of " .. muc });
	end
	local canonical = node .. "@" .. host;
	local pin, err = pin_for(canonical);
	if not pin then
		module:log("error", "Dial-in PIN for %s not stored: %s", canonical, err);
		return answer(500, { message = "The PIN could not be stored" });
	end
	return answer(200, {
		message = "Successfully retrieved conference mapping";
		id = pin;
		conference = canonical;
	});
end

local function by_id(id)
	if #id ~= digits or not id:match("^[1-9]%d*$") then
		return answer(400, { message = "The id parameter is not a PIN of " .. digits .. " digits" });
	end
	local pin = math.tointeger(tonumber(id));
	local known, err = store:get("p" .. pin);
	if err then
		module:log("error", "Dial-in PIN lookup failed: %s", err);
		return answer(500, { message = "The PIN could not be looked up" });
	end
	if not known or not known.conference then
		return answer(404, { message = "No conference mapping was found"; id = pin; conference = false });
	end
	return answer(200, {
		message = "Successfully retrieved conference mapping";
		id = pin;
		conference = known.conference;
	});
end

local function handle(event)
	local query = event.request.url.query;
	local params = query and formdecode(query);
	if type(params) ~= "table" then params = {}; end
	local conference, id = params.conference, params.id;
	if conference and id then
		return answer(400, { message = "Give either conference or id, not both" });
	elseif conference then
		return by_conference(conference);
	elseif id then
		return by_id(id);
	end
	return answer(400, { message = "No conference or id provided" });
end

module:provides("http", {
	default_path = "/ryo-conference-mapper";
	route = { ["GET"] = handle };
});
