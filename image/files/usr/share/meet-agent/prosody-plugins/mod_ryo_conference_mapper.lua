-- mod_ryo_conference_mapper: ryo-jitsi's dial-in PIN service, the "conference mapper" that
-- the jitsi-meet web app's config.dialInConfCodeUrl points at and that an IVR asks with the
-- PIN a caller typed. Upstream serves it only as a hosted service (meet.jit.si, JaaS); this
-- is our own, written to the API the web app calls (jitsi/jitsi-meet
-- react/features/invite/_utils.ts getDialInConferenceID, and the conference mapper of
-- resources/cloud-api.swagger), read 2026-12:
--
--   GET ?conference=ROOM@MUC[&url=...]  200 {message, id, conference}: the room's PIN, made
--                                       the first time it is asked for while the meeting
--                                       runs, and kept; 404 when no such meeting has a PIN
--                                       or is running
--   GET ?id=PIN                         200 {message, id, conference}, or 404 with
--                                       conference = false when no room has that PIN
--   anything else                       400 {message}
--
-- ROOM is the name as the web app holds it (the page's path segment, percent-encoded) and
-- puts into the query unchanged. The room the web app joins is that name passed through
-- getBackendSafeRoomName
-- (react/features/base/util/uri.ts: decodeURIComponent, NFKC, lower case,
-- encodeURIComponent, lower case), so "Team Sync" meets in "team%20sync@MUC"; this module
-- applies the same steps, so the PIN belongs to the room callers must be put in.
--
-- Loaded on the auth.DOMAIN VirtualHost (meet-agent's prosody file), whose storage is kept:
-- an anonymous host, the site's in open mode, drops what its modules store. nginx proxies
-- /_api/conference-mapper here with a per-address rate limit, which is what makes guessing
-- PINs slow. PINs are random (prosody's util.random: the kernel's generator), DIGITS long
-- without a leading zero, and never handed to a second room. A PIN is only made for a
-- meeting that is running (the MUC has the room), so strangers cannot fill the storage
-- with PINs for made-up names. Both directions are kept in prosody's storage (for the
-- default internal store, one small file per key written atomically), so a PIN survives
-- restarts and reboots. Written for Lua 5.4 (64-bit integers), which Debian's Prosody 13
-- runs on.

local encodings = require "util.encodings";
local json = require "util.json";
local nameprep = encodings.stringprep.nameprep;
local valid_utf8 = encodings.utf8.valid;
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

-- The room's stored PIN: the PIN, nil when it has none, or nil and an error.
local function stored_pin(conference)
	local known, err = store:get(room_key(conference));
	if err then return nil, err; end
	return known and known.pin or nil;
end

-- A new PIN for the room, stored both ways; nil and an error when storage fails.
local function make_pin(conference)
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
			ok, set_err = store:set(room_key(conference), { pin = pin });
			if not ok then return nil, set_err; end
			module:log("info", "Dial-in PIN made for %s", conference);
			return pin;
		end
	end
	return nil, "no free PIN after 20 draws";
end

-- decodeURIComponent: every %XX decoded, or nil when a % is not followed by two hex digits
-- or the bytes are not UTF-8 (where the web app keeps the name as it was).
local function uri_decode(s)
	for at in s:gmatch("()%%") do
		if not s:sub(at + 1, at + 2):match("^%x%x$") then return nil; end
	end
	local decoded = s:gsub("%%(%x%x)", function(hex) return string.char(tonumber(hex, 16)); end);
	if not valid_utf8(decoded) then return nil; end
	return decoded;
end

-- encodeURIComponent, with lower-case hex digits as getBackendSafeRoomName leaves them.
local function uri_encode(s)
	return (s:gsub("[^A-Za-z0-9%-_.!~*'()]", function(c) return ("%%%02x"):format(c:byte()); end));
end

-- The rooms the web app may have joined for the name it holds: getBackendSafeRoomName's
-- steps (NFKC, then toLowerCase), lower-cased once in ASCII only (exact for every name
-- without upper-case non-ASCII letters that NFKC leaves as it is) and once by prosody's
-- nameprep, which applies NFKC and Unicode case folding (JavaScript's toLowerCase for the
-- rest, but for a few letters such as ß, which it folds to ss). Each is a prepped room JID
-- of the MUC; the list may be empty.
local function candidate_rooms(name)
	local decoded = uri_decode(name) or name;
	local rooms, seen = {}, {};
	for _, lowered in ipairs({ decoded:lower(), nameprep(decoded) or false }) do
		if lowered then
			local node, host, resource = jid.prepped_split(uri_encode(lowered) .. "@" .. muc);
			local room = node and not resource and host == muc and (node .. "@" .. muc);
			if room and not seen[room] then
				seen[room] = true;
				rooms[#rooms + 1] = room;
			end
		end
	end
	return rooms;
end

-- The MUC's module on this server, nil when the MUC host is not loaded.
local function muc_module()
	local host = prosody.hosts[muc];
	return host and host.modules.muc;
end

local function found(pin, conference)
	return answer(200, {
		message = "Successfully retrieved conference mapping";
		id = pin;
		conference = conference;
	});
end

local function by_conference(conference)
	local name, host = conference:match("^(.+)@([^@]+)$");
	local rooms = name and nameprep(host) == muc and candidate_rooms(name) or {};
	if #rooms == 0 then
		return answer(400, { message = "The conference parameter is not a room of " .. muc });
	end
	local rooms_module = muc_module();
	if not rooms_module then
		module:log("error", "Dial-in PINs: the MUC %s is not loaded on this server", muc);
		return answer(500, { message = "The meetings' host " .. muc .. " is not on this server" });
	end
	-- The running meeting first (the web app asks from inside it), then a PIN made before
	-- for a meeting that does not run now: where the candidates name two rooms, the one
	-- the asker is in wins.
	for pass = 1, 2 do
		for _, room in ipairs(rooms) do
			local running = pass == 1 and rooms_module.get_room_from_jid(room) ~= nil;
			if pass == 2 or running then
				local pin, err = stored_pin(room);
				if not pin and not err and running then
					pin, err = make_pin(room);
				end
				if err then
					module:log("error", "Dial-in PIN for %s: %s", room, err);
					return answer(500, { message = "The PIN could not be looked up or stored" });
				end
				if pin then return found(pin, room); end
			end
		end
	end
	return answer(404, {
		message = "No meeting " .. rooms[1] .. " is running; its PIN is made once it has started";
		conference = false;
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
	return found(pin, known.conference);
end

-- The parameters the web app and IVRs send, by name as sent: each name at most once and
-- not percent-encoded (nginx picks the rate limit from the raw query, so a name it would
-- read differently is refused). Values are kept as sent: the web app puts the room name
-- into the query as it holds it (the page's path, percent-encoded), and
-- getBackendSafeRoomName decodes that exactly once, which candidate_rooms repeats.
-- nil and a message for anything else.
local KNOWN = { conference = true; id = true; url = true };
local function parameters(query)
	local params = {};
	if not query or query == "" then return params; end
	for part in (query .. "&"):gmatch("([^&]*)&") do
		local name, value = part:match("^([^=]*)=(.*)$");
		if not name or not KNOWN[name] then
			return nil, "Unknown parameter: give conference (and url) or id";
		elseif params[name] then
			return nil, "The " .. name .. " parameter is given more than once";
		elseif #value > MAX_PARAM then
			return nil, "The " .. name .. " parameter is too long";
		end
		params[name] = value;
	end
	return params;
end

local function handle(event)
	local params, problem = parameters(event.request.url.query);
	if not params then
		return answer(400, { message = problem });
	end
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
