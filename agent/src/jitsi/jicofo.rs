//! jicofo's `jicofo.conf` (HOCON): its XMPP account, where it finds bridges, who may open
//! rooms (secure domain or JWT), and its REST API on loopback (`/stats` for idle detection).

use super::hocon::{include_local, quote};
use super::secrets::Secrets;
use super::AuthMode;
use std::fmt::Write;

/// jicofo's configuration.
pub const CONF: &str = "/etc/jitsi/jicofo/jicofo.conf";
/// The operator's HOCON additions, included last.
pub const LOCAL: &str = "/etc/meet-agent/jicofo.local.conf";
/// jicofo's REST port (loopback).
pub const REST_PORT: u16 = 8888;

/// What the renderer needs.
pub struct Inputs<'a> {
    /// The site's domain.
    pub domain: &'a str,
    /// Authentication mode.
    pub auth: AuthMode,
    /// The per-instance secrets.
    pub secrets: &'a Secrets,
    /// Whether Jitsi's prosody plugins (and so the `focus.` client proxy) are there.
    pub jitsi_plugins: bool,
}

/// Renders `jicofo.conf`.
pub fn render(i: &Inputs<'_>) -> String {
    let d = i.domain;
    let mut o = String::new();
    let proxy = if i.jitsi_plugins {
        format!("\n      client-proxy = {}", quote(&format!("focus.{d}")))
    } else {
        String::new()
    };
    // `writeln!` into a String cannot fail.
    let _ = writeln!(
        o,
        "# Managed by meet-agent and rewritten at every boot from its configuration ([jitsi])\n\
         # and the per-instance secrets.\n\
         jicofo {{\n  \
           xmpp {{\n    \
             client {{\n      \
               enabled = true\n      \
               hostname = \"127.0.0.1\"\n      \
               domain = {auth}\n      \
               username = \"focus\"\n      \
               password = {password}\n      \
               xmpp-domain = {domain}{proxy}\n      \
               # prosody on loopback serves the site's certificate, not one for localhost.\n      \
               disable-certificate-verification = true\n    \
             }}\n    \
             trusted-domains = [ {auth} ]\n  \
           }}\n  \
           bridge {{\n    \
             brewery-jid = {brewery}\n  \
           }}\n  \
           rest {{\n    \
             host = \"127.0.0.1\"\n    \
             port = {REST_PORT}\n  \
           }}",
        auth = quote(&format!("auth.{d}")),
        password = quote(&i.secrets.focus_password),
        domain = quote(d),
        brewery = quote(&format!("JvbBrewery@internal.auth.{d}")),
    );
    let kind = match i.auth {
        AuthMode::Open => None,
        AuthMode::SecureDomain => Some("XMPP"),
        AuthMode::Jwt => Some("JWT"),
    };
    if let Some(kind) = kind {
        let _ = writeln!(
            o,
            "  authentication {{\n    enabled = true\n    type = {kind}\n    login-url = {}\n  }}",
            quote(d)
        );
    }
    let _ = writeln!(o, "}}");
    o.push_str(&include_local(LOCAL));
    o
}
