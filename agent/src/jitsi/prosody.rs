//! prosody's part of the stack, `/etc/prosody/conf.d/ryo-jitsi.cfg.lua`: the site's virtual
//! host with the chosen authentication, the conference and internal MUCs, the `auth.`
//! host holding jicofo's (`focus`) and the videobridge's (`jvb`) accounts, and TURN
//! credentials handed to clients (XEP-0215 external services) from the shared secret.
//! Jitsi's own prosody modules are enabled only when Jitsi's plugins are installed, so the
//! rendered file always loads in the prosody that is there.

use super::coturn::TurnSettings;
use super::secrets::Secrets;
use super::AuthMode;
use std::fmt::Write;

/// Where the rendered file goes (Debian's prosody includes conf.d/*.cfg.lua).
pub const PATH: &str = "/etc/prosody/conf.d/ryo-jitsi.cfg.lua";
/// Where Jitsi's prosody modules live when jitsi-meet-prosody is installed.
pub const JITSI_PLUGINS: &str = "/usr/share/jitsi-meet/prosody-plugins";

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
}

/// Lua string literal (the values are ours, but a domain is user input).
fn lua(s: &str) -> String {
    format!("{s:?}")
}

/// Renders the file.
pub fn render(i: &Inputs<'_>) -> String {
    let d = i.domain;
    let mut o = String::new();
    let ssl = format!(
        "    ssl = {{ certificate = {}; key = {}; }}\n",
        lua(i.tls.0),
        lua(i.tls.1)
    );
    // `writeln!` into a String cannot fail.
    let _ = writeln!(
        o,
        "-- Managed by meet-agent and rewritten at every boot from its configuration ([jitsi]).\n\
         -- Put additions in another file in this folder, e.g. ryo-jitsi.local.cfg.lua.\n"
    );
    if i.jitsi_plugins {
        let _ = writeln!(o, "plugin_paths = {{ {} }}", lua(JITSI_PLUGINS));
        let _ = writeln!(o, "muc_mapper_domain_base = {}", lua(d));
    }
    let _ = writeln!(
        o,
        "external_service_secret = {}",
        lua(&i.secrets.turn_secret)
    );
    let _ = writeln!(
        o,
        "external_services = {{\n    {{ type = \"stun\", host = {h}, port = {p} }},\n    \
         {{ type = \"turn\", host = {h}, port = {p}, transport = \"udp\", secret = true, ttl = 86400, algorithm = \"turn\" }},\n    \
         {{ type = \"turns\", host = {h}, port = {tp}, transport = \"tcp\", secret = true, ttl = 86400, algorithm = \"turn\" }},{on_443}\n}}",
        h = lua(d),
        p = i.turn.port,
        tp = i.turn.tls_port,
        // TURN over TLS on 443 by its own name, for networks that allow only HTTPS.
        on_443 = i.turn.tls_host.as_deref().map_or(String::new(), |host| format!(
            "\n    {{ type = \"turns\", host = {}, port = 443, transport = \"tcp\", secret = true, ttl = 86400, algorithm = \"turn\" }},",
            lua(host)
        ))
    );
    let _ = writeln!(
        o,
        "consider_bosh_secure = true\nconsider_websocket_secure = true\n"
    );

    let auth = match (i.auth, i.jitsi_plugins) {
        (AuthMode::Open, true) => "jitsi-anonymous",
        (AuthMode::Open, false) => "anonymous",
        (AuthMode::SecureDomain, _) => "internal_hashed",
        (AuthMode::Jwt, _) => "token",
    };
    let mut modules = vec!["bosh", "websocket", "ping", "external_services"];
    if i.jitsi_plugins {
        modules.extend(["speakerstats", "conference_duration"]);
    }
    let lobby = i.jitsi_plugins && i.lobby;
    if lobby {
        modules.push("muc_lobby_rooms");
    }
    let _ = writeln!(o, "VirtualHost {}", lua(d));
    let _ = writeln!(o, "    authentication = {}", lua(auth));
    if let (AuthMode::Jwt, Some((app_id, secret))) = (i.auth, i.jwt) {
        let _ = writeln!(
            o,
            "    app_id = {}\n    app_secret = {}",
            lua(app_id),
            lua(secret)
        );
        let _ = writeln!(o, "    allow_empty_token = false");
    }
    o.push_str(&ssl);
    let _ = writeln!(
        o,
        "    modules_enabled = {{ {} }}",
        modules
            .iter()
            .map(|m| lua(m))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let _ = writeln!(o, "    c2s_require_encryption = false");
    if i.jitsi_plugins {
        let _ = writeln!(o, "    main_muc = {}", lua(&format!("conference.{d}")));
    }
    if lobby {
        let _ = writeln!(o, "    lobby_muc = {}", lua(&format!("lobby.{d}")));
    }
    if i.auth == AuthMode::SecureDomain {
        // Guests join rooms that a registered user has opened.
        let _ = writeln!(o, "\nVirtualHost {}", lua(&format!("guest.{d}")));
        let _ = writeln!(
            o,
            "    authentication = \"anonymous\"\n    c2s_require_encryption = false"
        );
    }

    let _ = writeln!(o, "\nComponent {} \"muc\"", lua(&format!("conference.{d}")));
    let _ = writeln!(o, "    restrict_room_creation = true");
    let _ = writeln!(o, "    admins = {{ {} }}", lua(&format!("focus@auth.{d}")));
    let _ = writeln!(
        o,
        "    muc_room_locking = false\n    muc_room_default_public_jids = true"
    );
    if i.jitsi_plugins {
        let _ = writeln!(
            o,
            "    modules_enabled = {{ \"muc_meeting_id\"; \"muc_domain_mapper\"; \"polls\" }}"
        );
    }
    if lobby {
        let _ = writeln!(o, "\nComponent {} \"muc\"", lua(&format!("lobby.{d}")));
        let _ = writeln!(
            o,
            "    restrict_room_creation = true\n    muc_room_locking = false"
        );
    }

    let _ = writeln!(
        o,
        "\nComponent {} \"muc\"",
        lua(&format!("internal.auth.{d}"))
    );
    let _ = writeln!(
        o,
        "    admins = {{ {}, {} }}",
        lua(&format!("focus@auth.{d}")),
        lua(&format!("jvb@auth.{d}"))
    );
    let _ = writeln!(o, "    modules_enabled = {{ \"ping\" }}");
    let _ = writeln!(
        o,
        "    muc_room_locking = false\n    muc_room_default_public_jids = true"
    );

    let _ = writeln!(o, "\nVirtualHost {}", lua(&format!("auth.{d}")));
    let _ = writeln!(o, "    authentication = \"internal_hashed\"");
    o.push_str(&ssl);
    if i.jitsi_plugins {
        let _ = writeln!(o, "    modules_enabled = {{ \"limits_exception\" }}");
        let _ = writeln!(
            o,
            "\nComponent {} \"client_proxy\"",
            lua(&format!("focus.{d}"))
        );
        let _ = writeln!(
            o,
            "    target_address = {}",
            lua(&format!("focus@auth.{d}"))
        );
    }
    o
}
