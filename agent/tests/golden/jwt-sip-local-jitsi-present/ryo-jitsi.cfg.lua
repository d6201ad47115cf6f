-- Managed by meet-agent and rewritten at every boot from its configuration ([jitsi]).
-- Put additions in /etc/prosody/ryo-jitsi.local.cfg.lua, read at the end of this file
-- (see docs/stack.md).
--
-- Each block names the upstream file it follows (read 2026-12):
--   DEBIAN      = jitsi/jitsi-meet:doc/debian/jitsi-meet-prosody/prosody.cfg.lua-jvb.example,
--                 its Prosody 13 layout (jitsi-meet-prosody 2.0.10590+)
--   DOCKER_SITE = jitsi/docker-jitsi-meet:prosody/rootfs/defaults/conf.d/jitsi-meet.cfg.lua
--                 at 2e6b31d8 (2026-08-20)
--   DOCKER_MAIN = jitsi/docker-jitsi-meet:prosody/rootfs/defaults/prosody.cfg.lua
--                 at 65c08f7e (2026-08-10)

-- Exposure (ours; DOCKER_MAIN listens on every address, behind docker's network):
-- clients reach prosody only through nginx (BOSH /http-bind and /xmpp-websocket
-- proxied to 127.0.0.1:5280), jicofo and the bridge connect to c2s on this machine,
-- and no other server federates with it. These are globals: Debian's
-- /etc/prosody/prosody.cfg.lua ends with Include "conf.d/*.cfg.lua", Prosody 13
-- parses each included file from the global scope, and a later value replaces the
-- main file's.
c2s_interfaces = { "127.0.0.1"; "::1" }
http_interfaces = { "127.0.0.1"; "::1" }
https_ports = { }
-- DOCKER_MAIN: nothing stored for offline users, no account creation over XMPP.
modules_disabled = { "s2s"; "offline"; "register"; "invites"; "invites_adhoc"; "invites_register" }
allow_registration = false

-- Globals: DEBIAN and DOCKER_SITE; component_admins_as_room_owners from DOCKER_MAIN
-- (Prosody 13 no longer makes admins room owners, and jicofo must own every room).
component_admins_as_room_owners = true
plugin_paths = { "/usr/share/jitsi-meet/prosody-plugins"; "/usr/share/meet-agent/prosody-plugins" }
muc_mapper_domain_base = "meet.example.test"
http_default_host = "meet.example.test"
unlimited_jids = { "focus@auth.meet.example.test"; "jvb@auth.meet.example.test" }
consider_bosh_secure = true
consider_websocket_secure = true
smacks_max_unacked_stanzas = 5
smacks_hibernation_time = 60
smacks_max_old_sessions = 1
storage = { smacks_h = "memory" }
external_service_secret = "turn-secret-golden"
external_services = {
    { type = "stun", host = "meet.example.test", port = 3478, transport = "udp" },
    { type = "turn", host = "meet.example.test", port = 3478, transport = "udp", secret = true, ttl = 86400, algorithm = "turn" },
    { type = "turns", host = "meet.example.test", port = 5349, transport = "tcp", secret = true, ttl = 86400, algorithm = "turn" },
    { type = "turns", host = "turn.meet.example.test", port = 443, transport = "tcp", secret = true, ttl = 86400, algorithm = "turn" },
}

-- The site's host: DEBIAN's VirtualHost "jitmeet.example.com" and DOCKER_SITE's
-- VirtualHost XMPP_DOMAIN (2e6b31d8, 2026-08-20). features_identity advertises, through
-- disco identities, the components below (the web app and jicofo find them there).
VirtualHost "meet.example.test"
    authentication = "token"
    app_id = "golden-app"
    app_secret = "jwt-secret-golden"
    allow_empty_token = false
    enable_domain_verification = false
    ssl = { certificate = "/etc/meet-agent/tls/fullchain.pem"; key = "/etc/meet-agent/tls/privkey.pem"; }
    modules_enabled = { "bosh"; "websocket"; "smacks"; "ping"; "external_services"; "features_identity"; "conference_duration"; "muc_lobby_rooms"; "muc_breakout_rooms"; "filter_iq_rayo" }
    c2s_require_encryption = false
    main_muc = "conference.meet.example.test"
    breakout_rooms_muc = "breakout.meet.example.test"
    lobby_muc = "lobby.meet.example.test"

-- jicofo's and the bridge's accounts: DOCKER_SITE's VirtualHost XMPP_AUTH_DOMAIN
-- (2e6b31d8, 2026-08-20) and DEBIAN's auth. host.
VirtualHost "auth.meet.example.test"
    authentication = "internal_hashed"
    ssl = { certificate = "/etc/meet-agent/xmpp/auth.crt"; key = "/etc/meet-agent/xmpp/auth.key"; }
    modules_enabled = { "limits_exception"; "smacks"; "ryo_conference_mapper" }
    smacks_hibernation_time = 15
    ryo_conference_mapper_muc = "conference.meet.example.test"
    ryo_conference_mapper_digits = 10

-- Meetings: DOCKER_SITE's Component XMPP_MUC_DOMAIN (2e6b31d8, 2026-08-20) with DEBIAN's
-- name and modules; token_verification enforces the token's room claim in JWT mode.
Component "conference.meet.example.test" "muc"
    restrict_room_creation = true
    admins = { "focus@auth.meet.example.test" }
    storage = "memory"
    muc_room_locking = false
    muc_room_default_public_jids = true
    muc_room_cache_size = 10000
    muc_tombstones = false
    muc_room_allow_persistent = false
    modules_enabled = { "muc_hide_all"; "muc_meeting_id"; "muc_domain_mapper"; "muc_rate_limit"; "muc_password_whitelist"; "muc_resource_validate"; "token_verification" }
    muc_password_whitelist = { "focus@auth.meet.example.test" }
    anonymous_strict = false

-- jicofo and the bridges: DOCKER_SITE's Component XMPP_INTERNAL_MUC_DOMAIN (2e6b31d8,
-- 2026-08-20) under DEBIAN's name; muc_filter_access admits only auth. users.
Component "internal.auth.meet.example.test" "muc"
    restrict_room_creation = "local"
    admins = { "focus@auth.meet.example.test"; "jvb@auth.meet.example.test" }
    storage = "memory"
    muc_room_locking = false
    muc_room_default_public_jids = true
    muc_room_cache_size = 1000
    muc_tombstones = false
    muc_room_allow_persistent = false
    modules_enabled = { "muc_hide_all"; "muc_filter_access"; "ping" }
    muc_filter_whitelist = { "auth.meet.example.test" }

-- The lobby: DOCKER_SITE's Component "lobby.XMPP_DOMAIN" (2e6b31d8, 2026-08-20).
Component "lobby.meet.example.test" "muc"
    restrict_room_creation = true
    storage = "memory"
    muc_room_locking = false
    muc_room_default_public_jids = true
    muc_room_cache_size = 10000
    muc_tombstones = false
    muc_room_allow_persistent = false
    modules_enabled = { "muc_hide_all"; "muc_rate_limit" }

-- Breakout rooms: DOCKER_SITE's Component "breakout.XMPP_DOMAIN" (2e6b31d8, 2026-08-20).
Component "breakout.meet.example.test" "muc"
    restrict_room_creation = true
    admins = { "focus@auth.meet.example.test" }
    storage = "memory"
    muc_room_locking = false
    muc_room_default_public_jids = true
    muc_room_cache_size = 10000
    muc_tombstones = false
    muc_room_allow_persistent = false
    modules_enabled = { "muc_hide_all"; "muc_meeting_id"; "muc_domain_mapper"; "muc_rate_limit" }

-- jicofo's address for clients, proxied to its account: DEBIAN and DOCKER_SITE's
-- Component "focus.XMPP_DOMAIN" "client_proxy" (2e6b31d8, 2026-08-20). It learns of
-- jicofo's session through focus@auth's roster entry, which meet-agent writes.
Component "focus.meet.example.test" "client_proxy"
    target_address = "focus@auth.meet.example.test"

-- Speaker stats, end conference, A/V moderation, room metadata and polls: DOCKER_SITE's
-- components (2e6b31d8, 2026-08-20; polls as polls_component, no longer a MUC module).
Component "speakerstats.meet.example.test" "speakerstats_component"
    muc_component = "conference.meet.example.test"
Component "endconference.meet.example.test" "end_conference"
    muc_component = "conference.meet.example.test"
Component "avmoderation.meet.example.test" "av_moderation_component"
    muc_component = "conference.meet.example.test"
Component "metadata.meet.example.test" "room_metadata_component"
    muc_component = "conference.meet.example.test"
    breakout_rooms_component = "breakout.meet.example.test"
Component "polls.meet.example.test" "polls_component"

-- The operator's additions, last so that they replace or extend the above (for a
-- host, after its VirtualHost or Component line: modules_enabled:append { ... }).
-- Each included file starts in the global scope. A wildcard: no file, no error.
Include "/etc/prosody/ryo-jitsi.local*.cfg.lua"
