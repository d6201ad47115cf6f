//! jigasi's `sip-communicator.properties` on a server that runs the SIP gateway
//! (`sip.local`): the SIP account it registers at the operator's server, the XMPP control
//! account that joins jicofo's `JigasiBrewery`, and how each call joins its meeting.
//!
//! Follows jitsi/jigasi at 6fbf4f2769bd (2026-06-17): `jigasi-home/sip-communicator.properties`
//! (the template its Debian postinst fills in) for the keys, codecs and the per-call XMPP
//! account; and jitsi/docker-jitsi-meet 2e6b31d8 `jigasi/rootfs/defaults/` for a registrar
//! named explicitly (`PROXY_AUTO_CONFIG=false` with the proxy's address, port and
//! transport) and the authenticated per-call login. jigasi reads
//! `/etc/jitsi/jigasi/sip-communicator.properties` (Debian's unit: `--configdir=/etc/jitsi
//! --configdirname=jigasi`); no HOCON file is needed (docs/upstream/jigasi.md section 1.1).
//! Where we differ: no `BOSH_URL_PATTERN` (dial-out legs join over the loopback XMPP port
//! like every other call, not over HTTPS through nginx), the registrar is never looked up
//! in DNS (the configured server is the one), and the file is jigasi's alone (0600).

use crate::sip::SipAccount;
use base64::Engine;
use std::fmt::Write;

/// The file jigasi reads.
pub const PROPERTIES: &str = "/etc/jitsi/jigasi/sip-communicator.properties";
/// The environment file jigasi.service reads (Debian's unit: `EnvironmentFile=`).
pub const ENV: &str = "/etc/jitsi/jigasi/config";
/// The UDP ports jigasi's calls use (RTP to the SIP peer, ICE to the bridge):
/// docker-jitsi-meet's 20000-20050 (jigasi.yml), clear of the videobridge's 10000, which
/// jigasi's own default range (10000-20000, Main.java) would overlap on one machine.
pub const MEDIA_PORTS: (u16, u16) = (20000, 20050);
/// The user jigasi runs as (its Debian package makes it); the file is its alone.
pub const USER: &str = "jigasi";
/// The SIP account's id inside the file (any token; upstream's template uses a number).
const SIP_ACCOUNT: &str = "acc-sip-1";
/// The XMPP control account's id (upstream's template's).
const XMPP_ACCOUNT: &str = "acc-xmpp-1";

/// Where jigasi logs in to XMPP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Xmpp<'a> {
    /// prosody on this machine, over loopback.
    Local,
    /// A signaling node's prosody (`server.role = "sip"`): TLS required, verified against
    /// the trust anchor the join token installs (Java's store; bridge/trust.rs).
    Remote {
        /// Its host name or address.
        host: &'a str,
        /// Its XMPP client port.
        port: u16,
    },
}

impl Xmpp<'_> {
    /// (server address, port, plaintext allowed).
    fn server(self) -> (String, u16, bool) {
        match self {
            // Loopback: prosody offers TLS there with the site's certificate, which need
            // not name 127.0.0.1.
            Xmpp::Local => ("127.0.0.1".into(), crate::vocab::ports::XMPP_CLIENT, true),
            Xmpp::Remote { host, port } => (host.to_string(), port, false),
        }
    }
}

/// What the renderer needs.
pub struct Inputs<'a> {
    /// The site's domain.
    pub domain: &'a str,
    /// The SIP account.
    pub account: &'a SipAccount,
    /// Where the XMPP server is.
    pub xmpp: Xmpp<'a>,
    /// The password of `jigasi@auth.DOMAIN` (this instance's secret).
    pub xmpp_password: &'a str,
    /// The room a call that names none goes to.
    pub default_room: Option<&'a str>,
}

/// The XMPP server a rendered file's control account logs in to (for status): (host,
/// port, XMPP domain of its account), if the file names them.
pub fn xmpp_server_in(properties: &str) -> Option<(String, u16, String)> {
    let p = format!("net.java.sip.communicator.impl.protocol.jabber.{XMPP_ACCOUNT}.");
    let value = |key: &str| {
        let key = format!("{p}{key}=");
        properties
            .lines()
            .find_map(|l| l.strip_prefix(key.as_str()))
    };
    let host = value("SERVER_ADDRESS")?.to_string();
    let port = value("SERVER_PORT")?.parse().ok()?;
    let domain = value("USER_ID")?.rsplit_once('@')?.1.to_string();
    Some((host, port, domain))
}

/// The SIP server a rendered file registers at (for status), if it names one.
pub fn server_in(properties: &str) -> Option<&str> {
    let key = format!("net.java.sip.communicator.impl.protocol.sip.{SIP_ACCOUNT}.SERVER_ADDRESS=");
    properties
        .lines()
        .find_map(|l| l.strip_prefix(key.as_str()))
}

/// jigasi's stored passwords are base64 of the plain text (jitsi-desktop's credentials
/// storage decodes them at start), unwrapped.
fn b64(secret: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(secret.as_bytes())
}

/// A value as Java's `Properties.load` reads it back unchanged: backslashes doubled, a
/// leading space escaped, anything outside printable ASCII as `\uXXXX`.
pub fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            ' ' if i == 0 => out.push_str("\\ "),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04X}");
                }
            }
        }
    }
    out
}

/// Renders `sip-communicator.properties`.
pub fn render(i: &Inputs<'_>) -> String {
    let n = crate::plan::xmpp::XmppNames::new(i.domain);
    let a = i.account;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# Managed by meet-agent and rewritten at every boot from its configuration ([sip]).\n\
         # Follows jitsi/jigasi 6fbf4f2769bd jigasi-home/sip-communicator.properties and\n\
         # jitsi/docker-jitsi-meet 2e6b31d8 jigasi/rootfs/defaults. Readable by jigasi alone:\n\
         # the passwords below are base64, not encrypted."
    );
    let mut set = |key: &str, value: &str| {
        let _ = writeln!(o, "{key}={}", escape_value(value));
    };
    // Gateway-wide.
    set("org.jitsi.jigasi.MUC_SERVICE_ADDRESS", &n.conference);
    set(
        "net.java.sip.communicator.impl.protocol.SingleCallInProgressPolicy.enabled",
        "false",
    );
    set(
        "net.java.sip.communicator.impl.neomedia.codec.audio.opus.encoder.COMPLEXITY",
        "10",
    );
    set(
        "net.java.sip.communicator.packetlogging.PACKET_LOGGING_ENABLED",
        "false",
    );
    if let Some(room) = i.default_room {
        // A bare room name: jigasi appends @MUC_SERVICE_ADDRESS.
        set("org.jitsi.jigasi.DEFAULT_JVB_ROOM_NAME", room);
    }
    sip_account(&mut set, i, a);
    xmpp_account(&mut set, i, &n);
    per_call_login(&mut set, i, &n);
    o
}

/// The SIP account, registering at the configured server (upstream's template, and
/// docker-jitsi-meet's explicit registrar).
fn sip_account(set: &mut dyn FnMut(&str, &str), i: &Inputs<'_>, a: &SipAccount) {
    let p = format!("net.java.sip.communicator.impl.protocol.sip.{SIP_ACCOUNT}");
    let address = a.address();
    let port = a.port.to_string();
    set(&p, SIP_ACCOUNT);
    set(&format!("{p}.ACCOUNT_UID"), &format!("SIP:{address}"));
    set(&format!("{p}.USER_ID"), &address);
    set(&format!("{p}.PASSWORD"), &b64(a.password.expose()));
    set(&format!("{p}.PROTOCOL_NAME"), "SIP");
    set(&format!("{p}.SERVER_ADDRESS"), &a.server);
    set(&format!("{p}.SERVER_PORT"), &port);
    set(&format!("{p}.SERVER_TRANSPORT"), a.transport.jigasi_name());
    // The configured server is the proxy too; no NAPTR/SRV lookup of the address's domain.
    set(&format!("{p}.PROXY_AUTO_CONFIG"), "false");
    set(&format!("{p}.PROXY_ADDRESS"), &a.server);
    set(&format!("{p}.PROXY_PORT"), &port);
    set(
        &format!("{p}.PREFERRED_TRANSPORT"),
        a.transport.jigasi_name(),
    );
    // OPTIONS every 25 s keeps the provider's NAT binding open, so its INVITEs reach
    // jigasi without an inbound port.
    set(&format!("{p}.KEEP_ALIVE_INTERVAL"), "25");
    set(&format!("{p}.KEEP_ALIVE_METHOD"), "OPTIONS");
    set(&format!("{p}.VOICEMAIL_ENABLED"), "false");
    // Upstream's codec priorities (0 is off): opus first, the telephone codecs after it,
    // DTMF on, no video.
    for (codec, priority) in [
        ("opus/48000", "1000"),
        ("AMR-WB/16000", "750"),
        ("G722/8000", "700"),
        ("PCMU/8000", "650"),
        ("PCMA/8000", "600"),
        ("iLBC/8000", "10"),
        ("telephone-event/8000", "1"),
        ("GSM/8000", "0"),
        ("H263-1998/90000", "0"),
        ("H264/90000", "0"),
        ("SILK/8000", "0"),
        ("SILK/12000", "0"),
        ("SILK/16000", "0"),
        ("SILK/24000", "0"),
        ("VP8/90000", "0"),
        ("red/90000", "0"),
        ("speex/8000", "0"),
        ("speex/16000", "0"),
        ("speex/32000", "0"),
        ("ulpfec/90000", "0"),
    ] {
        set(&format!("{p}.Encodings.{codec}"), priority);
    }
    set(&format!("{p}.OVERRIDE_ENCODINGS"), "true");
    set(&format!("{p}.DEFAULT_ENCRYPTION"), "false");
    set(&format!("{p}.DOMAIN_BASE"), i.domain);
}

/// The control account: logs in as `jigasi@auth.DOMAIN` over loopback and joins the
/// brewery, where jicofo finds it; only the brewery may ask it to dial.
fn xmpp_account(set: &mut dyn FnMut(&str, &str), i: &Inputs<'_>, n: &crate::plan::xmpp::XmppNames) {
    let p = format!("net.java.sip.communicator.impl.protocol.jabber.{XMPP_ACCOUNT}");
    set(&p, XMPP_ACCOUNT);
    set(
        &format!("{p}.ACCOUNT_UID"),
        &format!("Jabber:{}", n.jigasi_jid),
    );
    set(&format!("{p}.USER_ID"), &n.jigasi_jid);
    let (server, port, plaintext) = i.xmpp.server();
    set(&format!("{p}.IS_SERVER_OVERRIDDEN"), "true");
    set(&format!("{p}.SERVER_ADDRESS"), &server);
    set(&format!("{p}.SERVER_PORT"), &port.to_string());
    set(&format!("{p}.ALLOW_NON_SECURE"), &plaintext.to_string());
    set(&format!("{p}.PASSWORD"), &b64(i.xmpp_password));
    set(&format!("{p}.AUTO_GENERATE_RESOURCE"), "true");
    set(&format!("{p}.RESOURCE_PRIORITY"), "30");
    set(&format!("{p}.KEEP_ALIVE_METHOD"), "XEP-0199");
    set(&format!("{p}.KEEP_ALIVE_INTERVAL"), "30");
    for (key, value) in [
        ("CALLING_DISABLED", "true"),
        ("JINGLE_NODES_ENABLED", "false"),
        ("IS_CARBON_DISABLED", "true"),
        ("DEFAULT_ENCRYPTION", "true"),
        ("IS_USE_ICE", "true"),
        ("IS_ACCOUNT_DISABLED", "false"),
        ("IS_PREFERRED_PROTOCOL", "false"),
        ("AUTO_DISCOVER_JINGLE_NODES", "false"),
        ("PROTOCOL", "Jabber"),
        ("IS_USE_UPNP", "false"),
        ("IM_DISABLED", "true"),
        ("SERVER_STORED_INFO_DISABLED", "true"),
        ("IS_FILE_TRANSFER_DISABLED", "true"),
        ("USE_DEFAULT_STUN_SERVER", "false"),
        ("ENCRYPTION_PROTOCOL.DTLS-SRTP", "0"),
        ("ENCRYPTION_PROTOCOL_STATUS.DTLS-SRTP", "true"),
        ("OVERRIDE_ENCODINGS", "true"),
    ] {
        set(&format!("{p}.{key}"), value);
    }
    set(&format!("{p}.BREWERY"), &n.jigasi_brewery_jid);
    set(&format!("{p}.DOMAIN_BASE"), i.domain);
    set("org.jitsi.jigasi.BREWERY_ENABLED", "true");
    // Dial and hang-up requests are taken only from the brewery (jicofo relays them there).
    set("org.jitsi.jigasi.ALLOWED_JID", &n.jigasi_brewery_jid);
}

/// How each call's own XMPP connection joins its meeting: as `jigasi@auth.DOMAIN` in every
/// mode (docker-jitsi-meet's ENABLE_AUTH branch; on an open site it logs in anonymously on
/// DOMAIN instead). So a phone can open a room nobody has opened yet where rooms need a
/// login; jigasi verifies the one certificate it trusts (auth.DOMAIN's, bridge/trust.rs)
/// rather than the site's, which is not in its store when it is self-signed; and jicofo
/// counts the call as jigasi, which it does only for accounts of a domain in its
/// `trusted-domains` (jicofo 8bc493fc, ChatRoomMemberImpl), where auth.DOMAIN is listed and
/// an anonymous domain must not be.
fn per_call_login(
    set: &mut dyn FnMut(&str, &str),
    i: &Inputs<'_>,
    n: &crate::plan::xmpp::XmppNames,
) {
    let p = "org.jitsi.jigasi.xmpp.acc";
    let (server, port, plaintext) = i.xmpp.server();
    set(&format!("{p}.IS_SERVER_OVERRIDDEN"), "true");
    set(&format!("{p}.SERVER_ADDRESS"), &server);
    if let Xmpp::Remote { .. } = i.xmpp {
        set(&format!("{p}.SERVER_PORT"), &port.to_string());
    }
    for (key, value) in [
        ("VIDEO_CALLING_DISABLED", "true"),
        ("JINGLE_NODES_ENABLED", "false"),
        ("AUTO_DISCOVER_STUN", "false"),
        ("IM_DISABLED", "true"),
        ("SERVER_STORED_INFO_DISABLED", "true"),
        ("IS_FILE_TRANSFER_DISABLED", "true"),
        ("KEEP_ALIVE_METHOD", "XEP-0199"),
        ("KEEP_ALIVE_INTERVAL", "30"),
        ("USE_DEFAULT_STUN_SERVER", "false"),
    ] {
        set(&format!("{p}.{key}"), value);
    }
    set(&format!("{p}.ALLOW_NON_SECURE"), &plaintext.to_string());
    set(&format!("{p}.USER_ID"), &n.jigasi_jid);
    // Plain text on purpose: a key ending in PASSWORD would be migrated and lost
    // (jigasi's JvbConference).
    set(&format!("{p}.PASS"), i.xmpp_password);
    set(&format!("{p}.ANONYMOUS_AUTH"), "false");
}

/// jigasi.service's environment: what jigasi's Debian postinst writes (6fbf4f27
/// debian/postinst, `config`), with the media ports narrowed ([`MEDIA_PORTS`]) and without
/// the SIP user and password, which only the postinst itself reads (to fill the template
/// this agent renders instead): the password stays in sip-communicator.properties alone.
pub fn render_env(domain: &str) -> String {
    let (min, max) = MEDIA_PORTS;
    format!(
        "# Managed by meet-agent and rewritten at every boot ([sip]).\n\
         # Follows jitsi/jigasi 6fbf4f2769bd debian/postinst's config and debian/jigasi.service.\n\
         JIGASI_HOSTNAME={domain}\n\
         JIGASI_HOST=localhost\n\
         JIGASI_OPTS=\"--min-port={min} --max-port={max}\"\n\
         JAVA_SYS_PROPS=\"-Djava.util.logging.config.file=/etc/jitsi/jigasi/logging.properties\"\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_unchanged_by_java_properties() {
        assert_eq!(escape_value("plain@host"), "plain@host");
        assert_eq!(escape_value(r"a\b"), r"a\\b");
        assert_eq!(escape_value(" lead"), r"\ lead");
        assert_eq!(escape_value("é"), r"\u00E9");
        assert_eq!(escape_value("😀"), r"\uD83D\uDE00");
        assert_eq!(escape_value("a\nb"), r"a\u000Ab");
    }
}
