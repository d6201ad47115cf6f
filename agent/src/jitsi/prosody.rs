//! prosody's part of the stack, `/etc/prosody/conf.d/ryo-jitsi.cfg.lua`, in the layout of
//! upstream's current packaging for Prosody 13: the site's virtual host with the chosen
//! authentication (and a guest host in secure-domain mode), the conference, breakout,
//! lobby and internal MUCs, the `auth.` host holding jicofo's (`focus`) and the
//! videobridge's (`jvb`) accounts, the components the web app and jicofo discover (polls,
//! speaker stats, A/V moderation, end conference, room metadata), and TURN credentials
//! handed to clients (XEP-0215) from the shared secret.
//!
//! Jitsi's own prosody modules (jitsi-meet-prosody's plugins) are named only when their
//! directory exists, so the rendered file always loads in the prosody that is there;
//! Prosody 13's own modules (bosh, websocket, smacks, ping, external_services, muc) are
//! always used.
//!
//! Upstream files followed (read 2026-12; each block below names its source):
//! - DOCKER_SITE: jitsi/docker-jitsi-meet `prosody/rootfs/defaults/conf.d/jitsi-meet.cfg.lua`
//!   at 2e6b31d8 (2026-08-20);
//! - DOCKER_MAIN: jitsi/docker-jitsi-meet `prosody/rootfs/defaults/prosody.cfg.lua` at
//!   65c08f7e (2026-08-10);
//! - DEBIAN: jitsi/jitsi-meet `doc/debian/jitsi-meet-prosody/prosody.cfg.lua-jvb.example`, the
//!   Prosody 13 layout (`component_admins_as_room_owners`, `features_identity`,
//!   `polls_component`) that jitsi-meet-prosody 2.0.10590+ installs as
//!   /etc/prosody/conf.avail/DOMAIN.cfg.lua. Its newest commit could not be read here (the
//!   repository is over the snapshot limit and the index holds older versions); the layout
//!   was taken from an installed copy of it and from DOCKER_SITE, which has dated commits.

use super::coturn::TurnSettings;
use super::secrets::Secrets;
use super::AuthMode;
use std::fmt::Write;

/// Where the rendered file goes (Debian's prosody includes conf.d/*.cfg.lua).
pub const PATH: &str = "/etc/prosody/conf.d/ryo-jitsi.cfg.lua";
/// The operator's additions, read at the end of the rendered file (so they replace or
/// extend what it sets); a wildcard `Include` makes a missing file no error.
pub const LOCAL: &str = "/etc/prosody/ryo-jitsi.local.cfg.lua";
/// The `Include` pattern that finds [`LOCAL`] when it exists.
const LOCAL_PATTERN: &str = "/etc/prosody/ryo-jitsi.local*.cfg.lua";
/// Where Jitsi's prosody modules live when jitsi-meet-prosody is installed.
pub const JITSI_PLUGINS: &str = "/usr/share/jitsi-meet/prosody-plugins";

/// The Jitsi modules (from [`JITSI_PLUGINS`]) the rendered file can name: what a prosody
/// without jitsi-meet-prosody reports missing, and nothing else.
pub const JITSI_MODULES: &[&str] = &[
    "auth_jitsi-anonymous",
    "auth_token",
    "av_moderation_component",
    "client_proxy",
    "conference_duration",
    "end_conference",
    "features_identity",
    "limits_exception",
    "muc_breakout_rooms",
    "muc_domain_mapper",
    "muc_filter_access",
    "muc_hide_all",
    "muc_lobby_rooms",
    "muc_meeting_id",
    "muc_password_whitelist",
    "muc_rate_limit",
    "muc_resource_validate",
    "polls_component",
    "room_metadata_component",
    "speakerstats_component",
    "token_verification",
];

/// Waits until prosody accepts connections on its HTTP port on loopback (BOSH, websocket,
/// the PIN service), polling every 100 ms; false when it still does not after `limit`.
/// prosody's unit is `Type=simple`: systemd calls it started a second or two before it
/// listens, and its start job waits for meet-agent's READY (the stack is ordered after the
/// agent), so only what runs after READY can wait for it.
pub async fn listening(limit: std::time::Duration) -> bool {
    let address = (
        std::net::Ipv4Addr::LOCALHOST,
        crate::vocab::ports::PROSODY_HTTP,
    );
    let started = std::time::Instant::now();
    loop {
        if tokio::net::TcpStream::connect(address).await.is_ok() {
            return true;
        }
        if started.elapsed() >= limit {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// What the renderer needs.
pub struct Inputs<'a> {
    /// The site's domain.
    pub domain: &'a str,
    /// Authentication mode.
    pub auth: AuthMode,
    /// JWT application id and secret (JWT mode).
    pub jwt: Option<(&'a str, &'a str)>,
    /// The per-instance secrets.
    pub secrets: &'a Secrets,
    /// TURN ports.
    pub turn: &'a TurnSettings,
    /// The installed certificate (chain, key).
    pub tls: (&'a str, &'a str),
    /// Whether Jitsi's prosody plugins are installed.
    pub jitsi_plugins: bool,
    /// The lobby (with Jitsi's plugins only).
    pub lobby: bool,
    /// auth.DOMAIN's own certificate and key, presented for `auth.DOMAIN` (else the
    /// site's): videobridges of other machines and a local jigasi verify it.
    pub auth_tls: Option<(&'a str, &'a str)>,
    /// A signaling node's listener for videobridges of their own machines: the client
    /// port listens on every address (the host firewall lets only the bridges' addresses
    /// in) and requires TLS.
    pub bridges: bool,
    /// Recorders (jibri) join this site: their hidden host `recorder.DOMAIN`, and their
    /// account let past the lobby and room passwords.
    pub recorders: bool,
    /// The dial-in PIN service (our `mod_ryo_conference_mapper`) runs on auth.DOMAIN.
    pub conference_mapper: bool,
    /// SIP gateways (jigasi) join this site, so participants may dial out.
    pub sip_gateways: bool,
}

/// Lua string literal (the values are ours, but a domain is user input).
fn lua(s: &str) -> String {
    format!("{s:?}")
}

/// A Lua list of string literals: `{ "a"; "b" }`.
fn list<S: AsRef<str>>(items: &[S]) -> String {
    if items.is_empty() {
        return "{ }".into();
    }
    let inner: Vec<String> = items.iter().map(|s| lua(s.as_ref())).collect();
    format!("{{ {} }}", inner.join("; "))
}

/// Appends one `    key = value` line of a host or component section.
fn opt(o: &mut String, key: &str, value: impl std::fmt::Display) {
    // `writeln!` into a String cannot fail.
    let _ = writeln!(o, "    {key} = {value}");
}

/// The host names of a site (plan::xmpp, derived once).
type Hosts = crate::plan::xmpp::XmppNames;

/// Renders the file.
pub fn render(i: &Inputs<'_>) -> String {
    let h = Hosts::new(i.domain);
    let mut o = String::new();
    o.push_str(
        "-- Managed by meet-agent and rewritten at every boot from its configuration ([jitsi]).\n\
         -- Put additions in /etc/prosody/ryo-jitsi.local.cfg.lua, read at the end of this file\n\
         -- (see docs/stack.md).\n\
         --\n\
         -- Each block names the upstream file it follows (read 2026-12):\n\
         --   DEBIAN      = jitsi/jitsi-meet:doc/debian/jitsi-meet-prosody/prosody.cfg.lua-jvb.example,\n\
         --                 its Prosody 13 layout (jitsi-meet-prosody 2.0.10590+)\n\
         --   DOCKER_SITE = jitsi/docker-jitsi-meet:prosody/rootfs/defaults/conf.d/jitsi-meet.cfg.lua\n\
         --                 at 2e6b31d8 (2026-08-20)\n\
         --   DOCKER_MAIN = jitsi/docker-jitsi-meet:prosody/rootfs/defaults/prosody.cfg.lua\n\
         --                 at 65c08f7e (2026-08-10)\n\n",
    );
    exposure(&mut o, i.bridges);
    globals(&mut o, i, &h);
    main_host(&mut o, i, &h);
    if i.auth == AuthMode::SecureDomain {
        guest_host(&mut o, i, &h);
    }
    auth_host(&mut o, i, &h);
    if i.recorders {
        recorder_host(&mut o, i, &h);
    }
    conference_muc(&mut o, i, &h);
    internal_muc(&mut o, i, &h);
    if i.jitsi_plugins {
        components(&mut o, i, &h);
    }
    let _ = writeln!(
        o,
        "\n-- The operator's additions, last so that they replace or extend the above (for a\n\
         -- host, after its VirtualHost or Component line: modules_enabled:append {{ ... }}).\n\
         -- Each included file starts in the global scope. A wildcard: no file, no error.\n\
         Include {}",
        lua(LOCAL_PATTERN)
    );
    o
}

/// c2s, HTTP and s2s: only what nginx and the local components need (and, on a signaling
/// node, the bridges of other machines).
fn exposure(o: &mut String, bridges: bool) {
    let c2s = if bridges {
        "-- A signaling node: videobridges of other machines log in to auth. over c2s, so c2s\n\
         -- listens on every address, as Debian's jitsi-meet-prosody leaves it (prosody's\n\
         -- default); meet-agent's host firewall lets only bridges.allow_cidrs reach 5222.\n\
         c2s_interfaces = { \"*\"; \"::\" }\n"
    } else {
        "c2s_interfaces = { \"127.0.0.1\"; \"::1\" }\n"
    };
    o.push_str(
        "-- Exposure (ours; DOCKER_MAIN listens on every address, behind docker's network):\n\
         -- clients reach prosody only through nginx (BOSH /http-bind and /xmpp-websocket\n\
         -- proxied to 127.0.0.1:5280), jicofo and the bridge connect to c2s on this machine,\n\
         -- and no other server federates with it. These are globals: Debian's\n\
         -- /etc/prosody/prosody.cfg.lua ends with Include \"conf.d/*.cfg.lua\", Prosody 13\n\
         -- parses each included file from the global scope, and a later value replaces the\n\
         -- main file's.\n",
    );
    o.push_str(c2s);
    o.push_str(
        "http_interfaces = { \"127.0.0.1\"; \"::1\" }\n\
         https_ports = { }\n",
    );
    // Replaces the main file's list, so it names everything DOCKER_MAIN (65c08f7e) disables
    // that Debian's main file enables: no offline storage and no account creation over
    // XMPP (in-band registration and Prosody 13's invites; accounts are made with
    // `meet-agent user add`, which writes the store through prosodyctl).
    o.push_str(
        "-- DOCKER_MAIN: nothing stored for offline users, no account creation over XMPP.\n\
         modules_disabled = { \"s2s\"; \"offline\"; \"register\"; \"invites\"; \"invites_adhoc\"; \"invites_register\" }\n\
         allow_registration = false\n\n",
    );
}

/// Settings every host shares.
fn globals(o: &mut String, i: &Inputs<'_>, h: &Hosts) {
    let _ = writeln!(
        o,
        "-- Globals: DEBIAN and DOCKER_SITE; component_admins_as_room_owners from DOCKER_MAIN\n\
         -- (Prosody 13 no longer makes admins room owners, and jicofo must own every room)."
    );
    o.push_str("component_admins_as_room_owners = true\n");
    let mut plugins = Vec::new();
    if i.jitsi_plugins {
        plugins.push(JITSI_PLUGINS);
    }
    if i.conference_mapper {
        // Ours, shipped by the meet-agent package (jitsi/dial_in.rs).
        plugins.push(super::dial_in::PLUGINS);
    }
    if !plugins.is_empty() {
        let _ = writeln!(o, "plugin_paths = {}", list(&plugins));
    }
    if i.jitsi_plugins {
        let _ = writeln!(o, "muc_mapper_domain_base = {}", lua(&h.domain));
    }
    let _ = writeln!(o, "http_default_host = {}", lua(&h.domain));
    // mod_limits (Prosody's own) exempts these; without it its rate limits throttle jicofo.
    let _ = writeln!(o, "unlimited_jids = {}", list(&[&h.focus_jid, &h.jvb_jid]));
    o.push_str("consider_bosh_secure = true\nconsider_websocket_secure = true\n");
    o.push_str(
        "smacks_max_unacked_stanzas = 5\nsmacks_hibernation_time = 60\nsmacks_max_old_sessions = 1\n",
    );
    // DOCKER_SITE fbbec37d (2026-07-08): mod_smacks' hibernation counters in memory (they
    // are worthless after a restart), every other store the default; the MUCs below set
    // their own.
    o.push_str("storage = { smacks_h = \"memory\" }\n");
    let _ = writeln!(
        o,
        "external_service_secret = {}",
        lua(&i.secrets.turn_secret)
    );
    let d = lua(&h.domain);
    let _ = writeln!(
        o,
        "external_services = {{\n    {{ type = \"stun\", host = {d}, port = {p}, transport = \"udp\" }},\n    \
         {{ type = \"turn\", host = {d}, port = {p}, transport = \"udp\", secret = true, ttl = 86400, algorithm = \"turn\" }},\n    \
         {{ type = \"turns\", host = {d}, port = {tp}, transport = \"tcp\", secret = true, ttl = 86400, algorithm = \"turn\" }},{on_443}\n}}\n",
        p = i.turn.port,
        tp = i.turn.tls_port,
        // TURN over TLS on 443 by its own name, for networks that allow only HTTPS.
        on_443 = i.turn.tls_host.as_deref().map_or(String::new(), |host| format!(
            "\n    {{ type = \"turns\", host = {}, port = 443, transport = \"tcp\", secret = true, ttl = 86400, algorithm = \"turn\" }},",
            lua(host)
        ))
    );
}

/// The MUCs a host's clients use (Jitsi's plugins read these).
fn muc_pointers(o: &mut String, i: &Inputs<'_>, h: &Hosts) {
    if !i.jitsi_plugins {
        return;
    }
    opt(o, "main_muc", lua(&h.conference));
    opt(o, "breakout_rooms_muc", lua(&h.breakout));
    if i.lobby {
        opt(o, "lobby_muc", lua(&h.lobby));
    }
}

/// The site's virtual host.
fn main_host(o: &mut String, i: &Inputs<'_>, h: &Hosts) {
    let _ = writeln!(
        o,
        "-- The site's host: DEBIAN's VirtualHost \"jitmeet.example.com\" and DOCKER_SITE's\n\
         -- VirtualHost XMPP_DOMAIN (2e6b31d8, 2026-08-20). features_identity advertises, through\n\
         -- disco identities, the components below (the web app and jicofo find them there)."
    );
    let _ = writeln!(o, "VirtualHost {}", lua(&h.domain));
    let auth = match (i.auth, i.jitsi_plugins) {
        // jitsi-anonymous keeps a session's JID across reconnects (upstream's default).
        (AuthMode::Open, true) => "jitsi-anonymous",
        (AuthMode::Open, false) => "anonymous",
        (AuthMode::SecureDomain, _) => "internal_hashed",
        (AuthMode::Jwt, true) => "token",
        // No token provider without Jitsi's plugins: fail closed (nobody but registered
        // users logs in) rather than leave a host prosody cannot load; the jitsi step
        // reports the missing plugins.
        (AuthMode::Jwt, false) => "internal_hashed",
    };
    opt(o, "authentication", lua(auth));
    if auth == "internal_hashed" {
        // DOCKER_SITE 6668c1ba "Fixes auth type internal with prosody 13": Prosody 13
        // offers DIGEST-MD5 (needs plain passwords, which internal_hashed does not keep)
        // and OAUTHBEARER, which the web app's client cannot use for a password login.
        opt(
            o,
            "disable_sasl_mechanisms",
            list(&["DIGEST-MD5", "OAUTHBEARER"]),
        );
    }
    if let (AuthMode::Jwt, true, Some((app_id, secret))) = (i.auth, i.jitsi_plugins, i.jwt) {
        opt(o, "app_id", lua(app_id));
        opt(o, "app_secret", lua(secret));
        opt(o, "allow_empty_token", "false");
        opt(o, "enable_domain_verification", "false");
    }
    opt(
        o,
        "ssl",
        format!(
            "{{ certificate = {}; key = {}; }}",
            lua(i.tls.0),
            lua(i.tls.1)
        ),
    );
    let mut modules = vec!["bosh", "websocket", "smacks", "ping", "external_services"];
    if i.jitsi_plugins {
        modules.extend(["features_identity", "conference_duration"]);
        if i.lobby {
            modules.push("muc_lobby_rooms");
        }
        modules.push("muc_breakout_rooms");
        if i.auth == AuthMode::Jwt && i.sip_gateways {
            // Dialling out with a token: its `outbound-call` feature decides, or, for a
            // token without features, being a moderator (jitsi-meet's
            // mod_filter_iq_rayo.lua and util.lib.lua is_feature_allowed; the module
            // works only where tokens are checked). It also drops a client's own
            // initiator headers and requires the JvbRoomName header to name the room the
            // request goes to. Neither DEBIAN nor DOCKER_SITE loads it; jicofo alone
            // lets any moderator dial (enable-moderator-checks), which in the other
            // modes is the rule.
            modules.push("filter_iq_rayo");
        }
    }
    opt(o, "modules_enabled", list(&modules));
    if i.jitsi_plugins && i.lobby && i.recorders {
        // A recorder joins without knocking: DOCKER_SITE's muc_lobby_whitelist of the
        // hidden domain (2e6b31d8, 2026-08-20).
        opt(o, "muc_lobby_whitelist", list(&[&h.recorder]));
    }
    // Clients come through nginx's TLS; jicofo and the bridge over loopback. On a
    // signaling node c2s listens on every address: no plaintext login there.
    opt(o, "c2s_require_encryption", i.bridges);
    muc_pointers(o, i, h);
    o.push('\n');
}

/// secure-domain's anonymous host for guests.
fn guest_host(o: &mut String, i: &Inputs<'_>, h: &Hosts) {
    let _ = writeln!(
        o,
        "-- Guests of secure-domain: DOCKER_SITE's VirtualHost XMPP_GUEST_DOMAIN (2e6b31d8,\n\
         -- 2026-08-20; PROSODY_GUEST_AUTH_TYPE defaults to jitsi-anonymous). They join rooms;\n\
         -- only users of the site's host open them (restrict_room_creation below)."
    );
    let _ = writeln!(o, "VirtualHost {}", lua(&h.guest));
    let auth = if i.jitsi_plugins {
        "jitsi-anonymous"
    } else {
        "anonymous"
    };
    opt(o, "authentication", lua(auth));
    opt(
        o,
        "ssl",
        format!(
            "{{ certificate = {}; key = {}; }}",
            lua(i.tls.0),
            lua(i.tls.1)
        ),
    );
    opt(o, "modules_enabled", list(&["smacks"]));
    opt(o, "c2s_require_encryption", i.bridges);
    muc_pointers(o, i, h);
    o.push('\n');
}

/// jicofo's and the bridge's host.
fn auth_host(o: &mut String, i: &Inputs<'_>, h: &Hosts) {
    let _ = writeln!(
        o,
        "-- jicofo's and the bridge's accounts: DOCKER_SITE's VirtualHost XMPP_AUTH_DOMAIN\n\
         -- (2e6b31d8, 2026-08-20) and DEBIAN's auth. host."
    );
    let _ = writeln!(o, "VirtualHost {}", lua(&h.auth));
    opt(o, "authentication", lua("internal_hashed"));
    // Bridges of other machines verify this host's certificate against the one in their
    // join token, made for auth.DOMAIN, and a local jigasi against the same certificate
    // in the JVM's store (DEBIAN's postinst makes one for auth.DOMAIN and trusts it);
    // jicofo, a local bridge and a local jibri accept the site's.
    let (cert, key) = i.auth_tls.unwrap_or(i.tls);
    opt(
        o,
        "ssl",
        format!("{{ certificate = {}; key = {}; }}", lua(cert), lua(key)),
    );
    if i.bridges {
        // The jvb password crosses the network: never without TLS.
        opt(o, "c2s_require_encryption", "true");
    }
    let mut modules = Vec::new();
    if i.jitsi_plugins {
        modules.push("limits_exception");
    }
    modules.push("smacks");
    if i.conference_mapper {
        modules.push(super::dial_in::MODULE);
    }
    opt(o, "modules_enabled", list(&modules));
    opt(o, "smacks_hibernation_time", 15);
    if i.conference_mapper {
        // Ours: dial-in PINs for the rooms of the conference MUC (jitsi/dial_in.rs), on
        // this host because its storage is kept: an anonymous host (the site's, in open
        // mode) drops whatever its modules store (Prosody's mod_auth_anonymous).
        opt(o, "ryo_conference_mapper_muc", lua(&h.conference));
        opt(
            o,
            "ryo_conference_mapper_digits",
            super::dial_in::PIN_DIGITS,
        );
    }
    o.push('\n');
}

/// The recorders' hidden host: the account jibri's browser joins meetings with.
fn recorder_host(o: &mut String, i: &Inputs<'_>, h: &Hosts) {
    let _ = writeln!(
        o,
        "-- Recorders' browsers: DEBIAN's VirtualHost \"recorder.jitmeet.example.com\" and\n\
         -- DOCKER_SITE's XMPP_HIDDEN_DOMAIN (2e6b31d8, 2026-08-20). Its one account,\n\
         -- recorder@, matches prosody's default recorder_prefixes (jitsi-meet's util.lib.lua),\n\
         -- which lets it into JWT rooms without a token; the web app hides its occupants."
    );
    let _ = writeln!(o, "VirtualHost {}", lua(&h.recorder));
    opt(o, "authentication", lua("internal_hashed"));
    opt(
        o,
        "ssl",
        format!(
            "{{ certificate = {}; key = {}; }}",
            lua(i.tls.0),
            lua(i.tls.1)
        ),
    );
    opt(o, "modules_enabled", list(&["smacks"]));
    opt(o, "smacks_max_old_sessions", 2000);
    opt(o, "c2s_require_encryption", i.bridges);
    o.push('\n');
}

/// The settings every Jitsi MUC shares: rooms live in memory and vanish when empty.
fn muc_common(o: &mut String, cache: u32) {
    opt(o, "storage", lua("memory"));
    opt(o, "muc_room_locking", "false");
    opt(o, "muc_room_default_public_jids", "true");
    opt(o, "muc_room_cache_size", cache);
    opt(o, "muc_tombstones", "false");
    opt(o, "muc_room_allow_persistent", "false");
}

/// The conference MUC.
fn conference_muc(o: &mut String, i: &Inputs<'_>, h: &Hosts) {
    let _ = writeln!(
        o,
        "-- Meetings: DOCKER_SITE's Component XMPP_MUC_DOMAIN (2e6b31d8, 2026-08-20) with DEBIAN's\n\
         -- name and modules; token_verification enforces the token's room claim in JWT mode."
    );
    let _ = writeln!(o, "Component {} \"muc\"", lua(&h.conference));
    // Upstream lets only jicofo (an admin) create rooms and leaves who may ask it to
    // jicofo. In secure-domain prosody enforces it too: "local" lets the site's own
    // (registered) users create rooms, never guest.DOMAIN's anonymous ones.
    let restrict = if i.auth == AuthMode::SecureDomain {
        lua("local")
    } else {
        "true".into()
    };
    opt(o, "restrict_room_creation", restrict);
    opt(o, "admins", list(&[&h.focus_jid]));
    muc_common(o, 10_000);
    if i.jitsi_plugins {
        // muc_resource_validate: DOCKER_SITE's default since 43ec99cb (2026-04-21): an
        // occupant's nick must be plain [a-zA-Z0-9_] and may not change; not strict about
        // anonymous users' nicks (anonymous_strict = false, DOCKER_SITE's default).
        let mut modules = vec![
            "muc_hide_all",
            "muc_meeting_id",
            "muc_domain_mapper",
            "muc_rate_limit",
            "muc_password_whitelist",
            "muc_resource_validate",
        ];
        if i.auth == AuthMode::Jwt {
            modules.push("token_verification");
        }
        opt(o, "modules_enabled", list(&modules));
        // A recorder enters a room with a password: DOCKER_SITE lists its account too.
        let mut whitelist = vec![h.focus_jid.as_str()];
        if i.recorders {
            whitelist.push(&h.recorder_jid);
        }
        opt(o, "muc_password_whitelist", list(&whitelist));
        opt(o, "anonymous_strict", "false");
    }
    o.push('\n');
}

/// The MUC where jicofo meets the bridges.
fn internal_muc(o: &mut String, i: &Inputs<'_>, h: &Hosts) {
    let _ = writeln!(
        o,
        "-- jicofo and the bridges: DOCKER_SITE's Component XMPP_INTERNAL_MUC_DOMAIN (2e6b31d8,\n\
         -- 2026-08-20) under DEBIAN's name; muc_filter_access admits only auth. users."
    );
    let _ = writeln!(o, "Component {} \"muc\"", lua(&h.internal));
    // "local": the service accounts of auth.DOMAIN (this component's parent host) may
    // create a room, nobody else (Prosody 13 mod_muc: prosody:registered of the parent).
    // jibri and jigasi create their brewery when they arrive before jicofo, and join it
    // only once per login (jitsi-xmpp-extensions' MucClient); upstream's docker makes
    // jibri a global admin for the same reason, which this avoids.
    opt(o, "restrict_room_creation", lua("local"));
    opt(o, "admins", list(&[&h.focus_jid, &h.jvb_jid]));
    muc_common(o, 1_000);
    let mut modules = Vec::new();
    if i.jitsi_plugins {
        modules.extend(["muc_hide_all", "muc_filter_access"]);
    }
    modules.push("ping");
    opt(o, "modules_enabled", list(&modules));
    if i.jitsi_plugins {
        opt(o, "muc_filter_whitelist", list(&[&h.auth]));
    }
    o.push('\n');
}

/// Jitsi's components (plugins only).
fn components(o: &mut String, i: &Inputs<'_>, h: &Hosts) {
    let d = &h.domain;
    let conference = lua(&h.conference);
    if i.lobby {
        let _ = writeln!(
            o,
            "-- The lobby: DOCKER_SITE's Component \"lobby.XMPP_DOMAIN\" (2e6b31d8, 2026-08-20)."
        );
        let _ = writeln!(o, "Component {} \"muc\"", lua(&h.lobby));
        opt(o, "restrict_room_creation", "true");
        muc_common(o, 10_000);
        opt(
            o,
            "modules_enabled",
            list(&["muc_hide_all", "muc_rate_limit"]),
        );
        o.push('\n');
    }
    let _ = writeln!(
        o,
        "-- Breakout rooms: DOCKER_SITE's Component \"breakout.XMPP_DOMAIN\" (2e6b31d8, 2026-08-20)."
    );
    let _ = writeln!(o, "Component {} \"muc\"", lua(&h.breakout));
    opt(o, "restrict_room_creation", "true");
    opt(o, "admins", list(&[&h.focus_jid]));
    muc_common(o, 10_000);
    opt(
        o,
        "modules_enabled",
        list(&[
            "muc_hide_all",
            "muc_meeting_id",
            "muc_domain_mapper",
            "muc_rate_limit",
        ]),
    );
    o.push('\n');

    let _ = writeln!(
        o,
        "-- jicofo's address for clients, proxied to its account: DEBIAN and DOCKER_SITE's\n\
         -- Component \"focus.XMPP_DOMAIN\" \"client_proxy\" (2e6b31d8, 2026-08-20). It learns of\n\
         -- jicofo's session through focus@auth's roster entry, which meet-agent writes."
    );
    let _ = writeln!(o, "Component {} \"client_proxy\"", lua(&h.focus_component));
    opt(o, "target_address", lua(&h.focus_jid));
    o.push('\n');

    let _ = writeln!(
        o,
        "-- Speaker stats, end conference, A/V moderation, room metadata and polls: DOCKER_SITE's\n\
         -- components (2e6b31d8, 2026-08-20; polls as polls_component, no longer a MUC module)."
    );
    for (name, module) in [
        ("speakerstats", "speakerstats_component"),
        ("endconference", "end_conference"),
        ("avmoderation", "av_moderation_component"),
    ] {
        let _ = writeln!(
            o,
            "Component {} {}",
            lua(&format!("{name}.{d}")),
            lua(module)
        );
        opt(o, "muc_component", &conference);
    }
    let _ = writeln!(
        o,
        "Component {} \"room_metadata_component\"",
        lua(&h.metadata)
    );
    opt(o, "muc_component", &conference);
    opt(o, "breakout_rooms_component", lua(&h.breakout));
    let _ = writeln!(o, "Component {} \"polls_component\"", lua(&h.polls));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Secrets {
        Secrets {
            instance_id: None,
            focus_password: "f".into(),
            jvb_password: "j".into(),
            turn_secret: "t".into(),
            jwt_app_secret: "s".into(),
            jibri_password: "b".into(),
            recorder_password: "r".into(),
            jigasi_password: "g".into(),
        }
    }

    fn turn() -> TurnSettings {
        TurnSettings {
            port: 3478,
            tls_port: 5349,
            listen: Vec::new(),
            relay_ports: (49152, 65535),
            tls_host: None,
        }
    }

    fn render_with(auth: AuthMode, plugins: bool) -> String {
        let (s, t) = (secrets(), turn());
        render(&Inputs {
            domain: "meet.example.test",
            auth,
            jwt: Some(("app", "secret")),
            secrets: &s,
            turn: &t,
            tls: ("/c.pem", "/k.pem"),
            jitsi_plugins: plugins,
            lobby: true,
            recorders: false,
            auth_tls: None,
            bridges: false,
            conference_mapper: false,
            sip_gateways: false,
        })
    }

    /// Every module name in a `modules_enabled` list or a Component line.
    fn modules(text: &str) -> Vec<String> {
        let mut found = Vec::new();
        for line in text.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("modules_enabled = {") {
                found.extend(
                    rest.trim_end_matches('}')
                        .split(';')
                        .map(|m| m.trim().trim_matches('"').to_string())
                        .filter(|m| !m.is_empty()),
                );
            } else if let Some(rest) = line.strip_prefix("Component ") {
                if let Some(module) = rest.split_whitespace().nth(1) {
                    found.push(module.trim_matches('"').to_string());
                }
            } else if let Some(rest) = line.strip_prefix("authentication = ") {
                found.push(format!("auth_{}", rest.trim_matches('"')));
            }
        }
        found
    }

    #[test]
    fn without_plugins_no_jitsi_module_is_named() {
        for auth in [AuthMode::Open, AuthMode::SecureDomain, AuthMode::Jwt] {
            let text = render_with(auth, false);
            for m in modules(&text) {
                assert!(!JITSI_MODULES.contains(&m.as_str()), "{auth:?}: {m}");
            }
            assert!(!text.contains("plugin_paths"), "{text}");
        }
    }

    #[test]
    fn jitsi_modules_lists_every_plugin_the_file_can_name() {
        let prosody_own = [
            "bosh",
            "websocket",
            "smacks",
            "ping",
            "external_services",
            "muc",
            "auth_anonymous",
            "auth_internal_hashed",
        ];
        for auth in [AuthMode::Open, AuthMode::SecureDomain, AuthMode::Jwt] {
            for m in modules(&render_with(auth, true)) {
                assert!(
                    JITSI_MODULES.contains(&m.as_str()) || prosody_own.contains(&m.as_str()),
                    "{auth:?}: {m} is neither Prosody's nor in JITSI_MODULES"
                );
            }
        }
    }

    /// The text of the section that starts with `header` (up to the next blank line).
    fn section<'t>(text: &'t str, header: &str) -> &'t str {
        let start = text
            .find(header)
            .unwrap_or_else(|| panic!("{header}: {text}"));
        let rest = &text[start..];
        &rest[..rest.find("\n\n").unwrap_or(rest.len())]
    }

    /// Issue 19 item 4: the conference MUC validates occupant nicks with Jitsi's
    /// muc_resource_validate, not strict about anonymous users (docker's defaults), in
    /// every mode with the plugins and never without them.
    #[test]
    fn the_conference_muc_validates_occupant_resources_as_docker_does() {
        for auth in [AuthMode::Open, AuthMode::SecureDomain, AuthMode::Jwt] {
            let text = render_with(auth, true);
            let muc = section(&text, "Component \"conference.meet.example.test\" \"muc\"");
            assert!(
                modules(muc).contains(&"muc_resource_validate".to_string()),
                "{muc}"
            );
            assert!(
                muc.lines().any(|l| l == "    anonymous_strict = false"),
                "{muc}"
            );
            let text = render_with(auth, false);
            assert!(!text.contains("muc_resource_validate"), "{text}");
        }
    }

    /// Issue 19 item 6: where the site's host keeps hashed passwords (secure-domain, and
    /// jwt without the token plugin), Prosody 13's DIGEST-MD5 and OAUTHBEARER are off.
    #[test]
    fn internal_hashed_hosts_offer_neither_digest_md5_nor_oauthbearer() {
        for (auth, plugins, off) in [
            (AuthMode::SecureDomain, true, true),
            (AuthMode::SecureDomain, false, true),
            (AuthMode::Jwt, false, true),
            (AuthMode::Jwt, true, false),
            (AuthMode::Open, true, false),
        ] {
            let text = render_with(auth, plugins);
            let host = section(&text, "VirtualHost \"meet.example.test\"");
            assert_eq!(
                host.contains("disable_sasl_mechanisms = { \"DIGEST-MD5\"; \"OAUTHBEARER\" }"),
                off,
                "{auth:?} plugins {plugins}: {host}"
            );
        }
    }

    #[test]
    fn jwt_enforces_the_room_claim_and_requires_a_token() {
        let text = render_with(AuthMode::Jwt, true);
        assert!(text.contains("\"token_verification\""), "{text}");
        assert!(text.contains("allow_empty_token = false"), "{text}");
        assert!(text.contains("authentication = \"token\""), "{text}");
    }
}
