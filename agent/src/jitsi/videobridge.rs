//! jitsi-videobridge2's `jvb.conf` (HOCON) and its environment file: the XMPP account in
//! the internal MUC where jicofo finds bridges, the REST API on loopback (stats and graceful
//! shutdown for idle detection), and the ice4j static mapping from the machine's private to
//! its public address, so the bridge never offers a private address to clients. Rewritten
//! at every boot, so a new public IP is picked up.
//!
//! Follows jitsi/jitsi-videobridge `debian/postinst` (546803a58730, 2026-05-27: no colibri
//! websockets and no public HTTP server on 9090; the bridge channel is SCTP) and
//! jitsi/docker-jitsi-meet `jvb/rootfs/defaults/jvb.conf` (9ea0cbba255c, 2026-07-29: the
//! `sctp` and `health.require-valid-address` settings). Every key is checked against the
//! bridge's, jitsi-media-transform's and ice4j's `reference.conf` by the tests.

use super::hocon::{include_local, quote};
use super::secrets::Secrets;
use std::fmt::Write;
use std::net::Ipv4Addr;

/// The bridge's configuration.
pub const CONF: &str = crate::paths::VIDEOBRIDGE_CONF;
/// The environment the bridge's unit reads (Debian's `EnvironmentFile`).
pub const ENV: &str = "/etc/jitsi/videobridge/config";
/// The operator's HOCON additions, included last.
pub const LOCAL: &str = "/etc/meet-agent/jvb.local.conf";
/// The media port (UDP) clients send to.
pub const MEDIA_PORT: u16 = 10000;
/// The private REST port (loopback): `/colibri/stats`, `/colibri/shutdown`.
pub const REST_PORT: u16 = crate::vocab::ports::VIDEOBRIDGE_REST;

/// What the renderer needs.
pub struct Inputs<'a> {
    /// The site's domain.
    pub domain: &'a str,
    /// The per-instance secrets.
    pub secrets: &'a Secrets,
    /// The address clients reach the machine at.
    pub public_ipv4: Option<Ipv4Addr>,
    /// The machine's own (private) address, when it differs from the public one.
    pub local_ipv4: Option<Ipv4Addr>,
    /// Where the bridge's XMPP account lives: this machine's prosody, or a signaling node.
    pub signaling: Signaling<'a>,
    /// The bridge's name in the brewery MUC, unique in the deployment.
    pub nickname: &'a str,
    /// Relays to the deployment's other bridges (a multi-machine deployment), with this
    /// bridge's region.
    pub relay_region: Option<&'a str>,
}

/// The XMPP server the bridge logs in to.
pub enum Signaling<'a> {
    /// prosody on this machine (roles `all` and `signaling`), on loopback.
    Local,
    /// A signaling node elsewhere (role `videobridge`), from the join token.
    Remote {
        /// Host name or address to connect to.
        host: &'a str,
        /// prosody's client port there.
        port: u16,
        /// The XMPP domain of the account (`auth.DOMAIN`), which its certificate must name.
        auth_domain: String,
        /// The account's user name.
        username: &'a str,
        /// The account's password (from the token, never from this machine's secrets).
        password: &'a str,
        /// The brewery MUC's JID.
        brewery: String,
    },
}

/// The NAT mapping (private, public) to render, if the machine sits behind one.
pub fn mapping(local: Option<Ipv4Addr>, public: Option<Ipv4Addr>) -> Option<(Ipv4Addr, Ipv4Addr)> {
    match (local, public) {
        (Some(local), Some(public)) if local != public => Some((local, public)),
        _ => None,
    }
}

/// Renders `jvb.conf`.
pub fn render_conf(i: &Inputs<'_>) -> String {
    let mapping = mapping(i.local_ipv4, i.public_ipv4);
    let mut o = String::new();
    videobridge_block(&mut o, &xmpp_account(i));
    relay_and_health(&mut o, i, mapping.is_some());
    ice4j_block(&mut o, mapping);
    o.push_str(&include_local(LOCAL));
    o
}

/// The bridge's XMPP login (the `xmpp-client.configs` entry): prosody on loopback, or the
/// signaling node's over TLS.
fn xmpp_account(i: &Inputs<'_>) -> String {
    let names = crate::plan::xmpp::XmppNames::new(i.domain);
    match &i.signaling {
        Signaling::Local => format!(
            "HOSTNAME = \"127.0.0.1\"\n          \
             DOMAIN = {}\n          \
             USERNAME = \"jvb\"\n          \
             PASSWORD = {}\n          \
             MUC_JIDS = {}\n          \
             MUC_NICKNAME = {}\n          \
             # prosody on loopback serves the site's certificate, not one for localhost.\n          \
             DISABLE_CERTIFICATE_VERIFICATION = true",
            quote(&names.auth),
            quote(&i.secrets.jvb_password),
            quote(&names.brewery_jid),
            quote(i.nickname),
        ),
        // A bridge of its own: the signaling node's prosody presents a certificate for
        // auth.DOMAIN that this host trusts (the join token's, in the system and Java
        // stores), so the certificate is verified, unlike docker-jitsi-meet's
        // DISABLE_CERTIFICATE_VERIFICATION = true. The shard's keys are those of
        // jitsi/jicoco jicoco-mucclient MucClientConfiguration.java (read 2026-12-01:
        // HOSTNAME, PORT default 5222, DOMAIN, USERNAME, PASSWORD, MUC_JIDS, MUC_NICKNAME).
        // SECURITY_MODE stays unset: jicoco's MucClient.java (createXMPPTCPConnection-
        // Configuration, 39ece75a) then requires TLS for every host but localhost,
        // 127.0.0.1 and ::1, so the password never crosses the network in the clear.
        Signaling::Remote {
            host,
            port,
            auth_domain,
            username,
            password,
            brewery,
        } => format!(
            "HOSTNAME = {}\n          \
             PORT = {port}\n          \
             DOMAIN = {}\n          \
             USERNAME = {}\n          \
             PASSWORD = {}\n          \
             MUC_JIDS = {}\n          \
             MUC_NICKNAME = {}",
            quote(host),
            quote(auth_domain),
            quote(username),
            quote(password),
            quote(brewery),
            quote(i.nickname),
        ),
    }
}

/// The `videobridge` block's servers, APIs and login.
fn videobridge_block(o: &mut String, account: &str) {
    // `writeln!` into a String cannot fail.
    let _ = writeln!(
        o,
        "# Managed by meet-agent and rewritten at every boot from its configuration ([jitsi]),\n\
         # the machine's addresses and the per-instance secrets.\n\
         # Follows jitsi/jitsi-videobridge debian/postinst (546803a58730, 2026-05-27) and\n\
         # jitsi/docker-jitsi-meet jvb/rootfs/defaults/jvb.conf (9ea0cbba255c, 2026-07-29).\n\
         videobridge {{\n  \
           # Only the private server, on loopback: the REST API below. No public server and\n  \
           # no colibri websockets (upstream turned both off in 2026): the bridge channel\n  \
           # is SCTP over the media connection.\n  \
           http-servers {{\n    \
             private {{ host = \"127.0.0.1\", port = {REST_PORT} }}\n  \
           }}\n  \
           sctp {{ enabled = true }}\n  \
           ice {{ udp {{ port = {MEDIA_PORT} }} }}\n  \
           apis {{\n    \
             # /colibri/stats for meet-agent's idle detection (loopback only).\n    \
             rest {{ enabled = true }}\n    \
             xmpp-client {{\n      \
               configs {{\n        \
                 ryo-jitsi {{\n          \
                   {account}\n        \
                 }}\n      \
               }}\n    \
             }}\n  \
           }}\n  \
           # Lets meet-agent drain the bridge before a scheduled shutdown (loopback only).\n  \
           rest {{ shutdown {{ enabled = true }} }}"
    );
}

/// Relays (a deployment's bridges) and the health check without a public address.
fn relay_and_health(o: &mut String, i: &Inputs<'_>, mapped: bool) {
    if let Some(region) = i.relay_region {
        // Relays between the deployment's bridges, so that one conference can span them:
        // jicofo's octo settings must agree (jicofo.rs). The relay id is the bridge's
        // nickname, unique in the deployment. Keys as the bridge's reference.conf
        // (videobridge.relay, a29d97d13fbf, 2026-08-19) names them; the relays' messages
        // travel over SCTP like the bridge channel (jicofo's octo.sctp-datachannels).
        let _ = writeln!(
            o,
            "  relay {{\n    enabled = true\n    region = {}\n    relay-id = {}\n  }}",
            quote(region),
            quote(i.nickname)
        );
    }
    if !mapped {
        let _ = writeln!(
            o,
            "  # No public address mapping (a LAN install): with only private addresses the\n  \
             # bridge would report itself unhealthy and jicofo would not use it.\n  \
             health {{ require-valid-address = false }}"
        );
    }
}

/// ice4j: no outside STUN server, the static NAT mapping when there is one.
fn ice4j_block(o: &mut String, mapping: Option<(std::net::Ipv4Addr, std::net::Ipv4Addr)>) {
    let _ = writeln!(
        o,
        "}}\n\
         ice4j {{\n  harvest {{\n    mapping {{\n      \
           # The agent knows the public address; no outside STUN server is asked.\n      \
           stun {{ addresses = [] }}\n      \
           aws {{ enabled = false }}"
    );
    match mapping {
        Some((local, public)) => {
            let _ = writeln!(
                o,
                "      static-mappings = [\n        {{ name = \"ryo-jitsi\", local-address = {}, public-address = {} }}\n      ]",
                quote(&local.to_string()),
                quote(&public.to_string())
            );
        }
        None => {
            let _ = writeln!(o, "      static-mappings = []");
        }
    }
    let _ = writeln!(o, "    }}\n  }}\n}}");
}

/// Renders the environment file. The heap (`VIDEOBRIDGE_MAX_MEMORY`) is left to the tune
/// step's unit drop-in: a value here would override it.
pub fn render_env() -> String {
    format!(
        "# Managed by meet-agent and rewritten at every boot; the heap is set in\n\
         # /etc/systemd/system/jitsi-videobridge2.service.d/ (see [tune]). JAVA_SYS_PROPS as\n\
         # jitsi/jitsi-videobridge debian/postinst (546803a58730, 2026-05-27) writes it.\n\
         JAVA_SYS_PROPS=\"-Dconfig.file={CONF} -Dnet.java.sip.communicator.SC_HOME_DIR_LOCATION=/etc/jitsi \
         -Dnet.java.sip.communicator.SC_HOME_DIR_NAME=videobridge -Dnet.java.sip.communicator.SC_LOG_DIR_LOCATION=/var/log/jitsi \
         -Djava.util.logging.config.file=/etc/jitsi/videobridge/logging.properties\"\n"
    )
}
