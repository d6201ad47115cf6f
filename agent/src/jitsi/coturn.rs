//! coturn's `/etc/turnserver.conf`: TURN for clients whose network blocks the bridge's UDP
//! port, with credentials derived from the per-instance shared secret (TURN REST API, as
//! prosody hands them out), the public/private address mapping, TLS with the installed
//! certificate, and no relaying into private, loopback or otherwise special ranges.

use super::secrets::Secrets;
use crate::state::Identity;
use std::fmt::Write;
use std::net::IpAddr;

/// Validated `[jitsi.turn]` settings.
#[derive(Debug, Clone)]
pub struct TurnSettings {
    /// Plain TURN port (UDP and TCP).
    pub port: u16,
    /// TURN over TLS port.
    pub tls_port: u16,
    /// Addresses to listen on; empty means all.
    pub listen: Vec<IpAddr>,
    /// Relay port range.
    pub relay_ports: (u16, u16),
    /// The name on which nginx hands port 443 to coturn (TURN over TLS for networks that
    /// allow only HTTPS).
    pub tls_host: Option<String>,
}

/// Where the rendered file goes.
pub const PATH: &str = "/etc/turnserver.conf";
/// The operator's additions, appended verbatim.
pub const LOCAL: &str = "/etc/meet-agent/turnserver.local.conf";

/// The lines jitsi-meet-turnserver's postinst looks for (jitsi/jitsi-meet
/// `debian/jitsi-meet-turnserver.postinst` at b6170ed2, read 2026-12): without
/// "jitsi-meet coturn config" it moves the file to turnserver.conf.bak and installs its own
/// with another secret; without "jitsi-meet coturn relay disable config" it appends its
/// relay rules. With both it leaves the file alone on every upgrade.
pub const MARKERS: &str = "# jitsi-meet coturn config. Do not modify this line\n\
     # jitsi-meet coturn relay disable config. Do not modify this line\n\
     # (the two lines above keep jitsi-meet-turnserver's postinst from replacing this file)\n";

/// Ranges a TURN relay must never reach: a TURN server that relays into them lets anyone
/// with credentials probe the machine's own services and its private network.
const DENIED: &[&str] = &[
    "0.0.0.0-0.255.255.255",
    "10.0.0.0-10.255.255.255",
    "100.64.0.0-100.127.255.255",
    "127.0.0.0-127.255.255.255",
    "169.254.0.0-169.254.255.255",
    "172.16.0.0-172.31.255.255",
    "192.0.0.0-192.0.0.255",
    "192.0.2.0-192.0.2.255",
    "192.88.99.0-192.88.99.255",
    "192.168.0.0-192.168.255.255",
    "198.18.0.0-198.19.255.255",
    "198.51.100.0-198.51.100.255",
    "203.0.113.0-203.0.113.255",
    "240.0.0.0-255.255.255.255",
    "::1",
    "64:ff9b::-64:ff9b::ffff:ffff",
    "::ffff:0.0.0.0-::ffff:255.255.255.255",
    "100::-100::ffff:ffff:ffff:ffff",
    "2001::-2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff",
    "2002::-2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
];

/// Renders the file; `local` is the operator's additions, if any.
pub fn render(
    turn: &TurnSettings,
    id: &Identity,
    secrets: &Secrets,
    tls: (&str, &str),
    local: Option<&str>,
) -> String {
    let mut out = String::new();
    let realm = id
        .domain
        .clone()
        .or_else(|| id.public_ipv4.map(|ip| ip.to_string()))
        .unwrap_or_else(|| "localhost".into());
    // `writeln!` into a String cannot fail; the results are ignored on purpose.
    let _ = writeln!(
        out,
        "# Managed by meet-agent and rewritten at every boot from its configuration\n\
         # ([jitsi.turn]); put additions in {LOCAL}, which is appended below."
    );
    let _ = writeln!(out, "{MARKERS}");
    let _ = writeln!(out, "listening-port={}", turn.port);
    let _ = writeln!(out, "tls-listening-port={}", turn.tls_port);
    for ip in &turn.listen {
        let _ = writeln!(out, "listening-ip={ip}");
    }
    let _ = writeln!(
        out,
        "min-port={}\nmax-port={}",
        turn.relay_ports.0, turn.relay_ports.1
    );
    // The bridge and coturn advertise the public address; behind 1:1 NAT (EC2) the
    // listener holds the private one.
    match (id.public_ipv4, id.local_ipv4) {
        (Some(public), Some(local)) if public != local => {
            let _ = writeln!(out, "external-ip={public}/{local}");
        }
        (Some(public), _) => {
            let _ = writeln!(out, "external-ip={public}");
        }
        _ => {}
    }
    if let Some(v6) = id.public_ipv6 {
        let _ = writeln!(out, "external-ip={v6}");
    }
    let _ = writeln!(out, "realm={realm}\nserver-name={realm}");
    let _ = writeln!(
        out,
        "use-auth-secret\nstatic-auth-secret={}",
        secrets.turn_secret
    );
    let _ = writeln!(out, "cert={}\npkey={}", tls.0, tls.1);
    let _ = writeln!(
        out,
        "no-tlsv1\nno-tlsv1_1\nfingerprint\nno-cli\nno-multicast-peers\nno-tcp-relay\nkeep-address-family\nsyslog"
    );
    // The videobridge on this machine is reached at its private address; allowed ranges
    // take precedence over the denied ones below.
    if let Some(local) = id.local_ipv4 {
        let _ = writeln!(out, "allowed-peer-ip={local}");
    }
    for range in DENIED {
        let _ = writeln!(out, "denied-peer-ip={range}");
    }
    if let Some(local) = local {
        let _ = writeln!(out, "\n# {LOCAL}\n{}", local.trim_end());
    }
    out
}

#[cfg(test)]
mod marker_tests {
    /// The substrings jitsi-meet-turnserver's postinst greps for (b6170ed2).
    #[test]
    fn markers_keep_the_turnserver_postinst_away() {
        assert!(super::MARKERS.contains("jitsi-meet coturn config"));
        assert!(super::MARKERS.contains("jitsi-meet coturn relay disable config"));
    }
}
