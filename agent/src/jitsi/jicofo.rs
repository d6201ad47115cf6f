//! jicofo's `jicofo.conf` (HOCON): its XMPP account, where it finds bridges and the
//! conference MUC, who may open rooms (secure domain or JWT), SCTP for the bridge channel,
//! and its REST API on loopback (`/stats` for idle detection, `/debug` for each bridge's
//! state in `meet-agent status`).
//!
//! Follows jitsi/jicofo `debian/postinst` (last changed a2b1f83a0f0f, 2024-10-15; as of
//! 7ebb13dc3539, 2026-08-19: the client account, `client-proxy`, `brewery-jid`,
//! `trusted-domains`) and jitsi/docker-jitsi-meet `jicofo/rootfs/defaults/jicofo.conf`
//! (9ea0cbba255c, 2026-07-29: `authentication`, `conference-muc-jid`, `sctp`). Every key
//! is checked against jicofo's `reference.conf` files by the tests.

use super::hocon::{include_local, quote};
use super::secrets::Secrets;
use super::AuthMode;
use std::fmt::Write;

/// jicofo's configuration.
pub const CONF: &str = "/etc/jitsi/jicofo/jicofo.conf";
/// The operator's HOCON additions, included last.
pub const LOCAL: &str = "/etc/meet-agent/jicofo.local.conf";
/// jicofo's REST port (loopback).
pub const REST_PORT: u16 = crate::vocab::ports::JICOFO_REST;

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
    /// A deployment of several bridges (role `signaling`): relays between them, with the
    /// signaling node's region.
    pub relays: Option<&'a str>,
    /// Recorders (jibri) join this site: jicofo watches their brewery.
    pub recorders: bool,
    /// SIP gateways (jigasi) join this site: jicofo watches their brewery and offers
    /// phones to the meetings.
    pub sip_gateways: bool,
}

/// Renders `jicofo.conf`.
pub fn render(i: &Inputs<'_>) -> String {
    let mut o = String::new();
    xmpp_and_services(&mut o, i);
    authentication(&mut o, i);
    relays(&mut o, i);
    recorders(&mut o, i);
    sip_gateways(&mut o, i);
    // `writeln!` into a String cannot fail.
    let _ = writeln!(o, "}}");
    o.push_str(&include_local(LOCAL));
    o
}

/// The header and the `jicofo` block's login, brewery, channel, REST API and health.
fn xmpp_and_services(o: &mut String, i: &Inputs<'_>) {
    let d = i.domain;
    let n = crate::plan::xmpp::XmppNames::new(d);
    // prosody's client_proxy component (`focus.DOMAIN`) exists only with Jitsi's plugins;
    // naming one that does not exist would leave jicofo waiting for it.
    let proxy = if i.jitsi_plugins {
        format!("\n      client-proxy = {}", quote(&n.focus_component))
    } else {
        String::new()
    };
    // `writeln!` into a String cannot fail.
    let _ = writeln!(
        o,
        "# Managed by meet-agent and rewritten at every boot from its configuration ([jitsi])\n\
         # and the per-instance secrets.\n\
         # Follows jitsi/jicofo debian/postinst (7ebb13dc3539, 2026-08-19) and\n\
         # jitsi/docker-jitsi-meet jicofo/rootfs/defaults/jicofo.conf (9ea0cbba255c, 2026-07-29).\n\
         jicofo {{\n  \
           xmpp {{\n    \
             client {{\n      \
               enabled = true\n      \
               hostname = \"127.0.0.1\"\n      \
               domain = {auth}\n      \
               username = \"focus\"\n      \
               password = {password}\n      \
               xmpp-domain = {domain}\n      \
               conference-muc-jid = {muc}{proxy}\n      \
               # prosody on loopback serves the site's certificate, not one for localhost.\n      \
               disable-certificate-verification = true\n    \
             }}\n    \
             # Accounts of these domains may declare themselves recorders (jibri) or SIP\n    \
             # gateways (jigasi): recorder. as upstream's postinst sets it (prosody serves it\n    \
             # only where recorders join), and with SIP gateways auth., where each call of\n    \
             # jigasi logs in (a domain of service accounts alone).\n    \
             trusted-domains = [ {trusted} ]\n  \
           }}\n  \
           bridge {{\n    \
             brewery-jid = {brewery}\n  \
           }}\n  \
           # The bridge channel: SCTP data channels, the only one the bridge offers.\n  \
           sctp {{\n    \
             enabled = true\n  \
           }}\n  \
           rest {{\n    \
             host = \"127.0.0.1\"\n    \
             port = {REST_PORT}\n  \
           }}\n  \
           # /about/health answers (upstream's monitoring, docker's healthcheck.sh and\n  \
           # meet-agent status use it) only with jicofo's own checks on; reference.conf's\n  \
           # default is off (docker-jitsi-meet 2e6b31d8: JICOFO_ENABLE_HEALTH_CHECKS).\n  \
           health {{\n    \
             enabled = true\n  \
           }}",
        auth = quote(&n.auth),
        password = quote(&i.secrets.focus_password),
        domain = quote(d),
        muc = quote(&n.conference),
        trusted = trusted_domains(i, &n),
        brewery = quote(&n.brewery_jid),
    );
}

/// The domains whose accounts jicofo believes when they say they are jibri or jigasi
/// (jicofo 7ebb13dc ChatRoomMemberImpl compares the occupant's real JID's domain; since
/// 8bc493fc, 2024-12-10, for jigasi too). Upstream's postinsts list only recorder.DOMAIN
/// and docker-jitsi-meet none for SIP, so a call of jigasi counts as an ordinary
/// participant there; here each call logs in as `jigasi@auth.DOMAIN` (jigasi.rs), and
/// auth.DOMAIN holds service accounts only (focus, jvb, jibri's control login, jigasi),
/// never a user's; their holders (join tokens carry the passwords) may also claim to be
/// jibri, which gives no more than those accounts already have.
fn trusted_domains(i: &Inputs<'_>, n: &crate::plan::xmpp::XmppNames) -> String {
    let mut domains = vec![quote(&n.recorder)];
    if i.sip_gateways {
        domains.push(quote(&n.auth));
    }
    domains.join(", ")
}

/// Who may create rooms: nothing (open), prosody's accounts, or a token.
fn authentication(o: &mut String, i: &Inputs<'_>) {
    let d = i.domain;
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
}

/// Relays between a deployment's bridges, by region.
fn relays(o: &mut String, i: &Inputs<'_>) {
    if let Some(region) = i.relays {
        // Bridges of their own machines: a conference may span them through relays (the
        // bridges' videobridge.relay), and jicofo places each participant on a bridge of
        // its region, splitting a conference when a bridge is overloaded. Keys as jicofo's
        // reference.conf (jicofo-common `octo`, `local-region`; jicofo-selector
        // `bridge.selection-strategy`; 7ebb13dc3539, 2026-08-19) names them. Mixed bridge
        // versions in one conference stay off (upstream's default): every bridge of a
        // deployment runs the image's Jitsi version.
        let _ = writeln!(
            o,
            "  local-region = {}\n  \
             octo {{\n    enabled = true\n  }}\n  \
             bridge {{\n    selection-strategy = RegionBasedBridgeSelectionStrategy\n  }}",
            quote(region)
        );
    }
}

/// The recorders' brewery, as jibri's README and docker-jitsi-meet's jicofo.conf
/// (2e6b31d8, ENABLE_RECORDING: brewery-jid and pending-timeout) set it. `brewery-jid` is
/// commented out in jicofo's reference.conf (7ebb13dc, line 118) but read by
/// JibriConfig.kt; the HOCON key test lists it as the one such key.
fn recorders(o: &mut String, i: &Inputs<'_>) {
    if i.recorders {
        let n = crate::plan::xmpp::XmppNames::new(i.domain);
        let _ = writeln!(
            o,
            "  jibri {{\n    brewery-jid = {}\n    pending-timeout = 90 seconds\n  }}",
            quote(&n.jibri_brewery_jid)
        );
    }
}

/// Whether a rendered jicofo.conf watches the SIP gateways' brewery (for status).
pub fn watches_sip_gateways(conf: &str) -> bool {
    conf.contains(SIP_GATEWAYS_BLOCK)
}

/// The opening of the block [`sip_gateways`] renders.
const SIP_GATEWAYS_BLOCK: &str = "\n  jigasi {\n";

/// The SIP gateways' brewery, as jigasi's Debian postinst (6fbf4f27: `hocon set
/// jicofo.jigasi.brewery-jid`) and docker-jitsi-meet's jicofo.conf (2e6b31d8, with
/// JIGASI_SIP_URI) set it. jicofo 7ebb13dc JigasiConfig.kt reads it; once set, every
/// conference tells its participants that a SIP gateway is there (`sipGatewayEnabled`).
fn sip_gateways(o: &mut String, i: &Inputs<'_>) {
    if i.sip_gateways {
        let n = crate::plan::xmpp::XmppNames::new(i.domain);
        let _ = writeln!(
            o,
            "{}    brewery-jid = {}\n  }}",
            SIP_GATEWAYS_BLOCK.trim_start_matches('\n'),
            quote(&n.jigasi_brewery_jid)
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_rendered_file_turns_jicofos_health_checks_on() {
        // What /about/health needs; the golden files and the reference.conf check cover
        // the rest of the file.
        let golden = include_str!("../../tests/golden/open-jitsi-present/jicofo.conf");
        assert!(
            golden.contains("  health {\n    enabled = true\n  }\n"),
            "{golden}"
        );
    }
}
