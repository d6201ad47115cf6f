-- Managed by meet-agent and rewritten at every boot from its configuration ([jitsi]).
-- Put additions in another file in this folder, e.g. ryo-jitsi.local.cfg.lua.

external_service_secret = "turn-secret-golden"
external_services = {
    { type = "stun", host = "meet.example.test", port = 3478 },
    { type = "turn", host = "meet.example.test", port = 3478, transport = "udp", secret = true, ttl = 86400, algorithm = "turn" },
    { type = "turns", host = "meet.example.test", port = 5349, transport = "tcp", secret = true, ttl = 86400, algorithm = "turn" },
}
consider_bosh_secure = true
consider_websocket_secure = true

VirtualHost "meet.example.test"
    authentication = "anonymous"
    ssl = { certificate = "/etc/meet-agent/tls/fullchain.pem"; key = "/etc/meet-agent/tls/privkey.pem"; }
    modules_enabled = { "bosh"; "websocket"; "ping"; "external_services" }
    c2s_require_encryption = false

Component "conference.meet.example.test" "muc"
    restrict_room_creation = true
    admins = { "focus@auth.meet.example.test" }
    muc_room_locking = false
    muc_room_default_public_jids = true

Component "internal.auth.meet.example.test" "muc"
    admins = { "focus@auth.meet.example.test", "jvb@auth.meet.example.test" }
    modules_enabled = { "ping" }
    muc_room_locking = false
    muc_room_default_public_jids = true

VirtualHost "auth.meet.example.test"
    authentication = "internal_hashed"
    ssl = { certificate = "/etc/meet-agent/tls/fullchain.pem"; key = "/etc/meet-agent/tls/privkey.pem"; }
