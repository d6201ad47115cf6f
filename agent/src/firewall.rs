//! The host firewall: an nftables ruleset that lets in only what a meeting needs (the web
//! site, the bridge's media port, TURN and its relay range, SSH while sshd is enabled) and
//! drops every other inbound packet. The agent renders it from the configuration at every
//! boot; `meet-agent-firewall.service` loads it with `nft -f` (one atomic transaction), at
//! early boot from the last run's file and again whenever the agent rewrites it, ordered
//! before the stack's services.
//!
//! Jitsi's own packaging opens no firewall; its self-hosting guide lists the ports to open
//! by hand (jitsi/handbook `docs/devops-guide/quickstart.md`, "Setup and configure your
//! firewall": 80/tcp, 443/tcp, 10000/udp, 22/tcp, 3478/udp, 5349/tcp). This follows that
//! list, plus what our coturn serves besides (3478/tcp and the relay range it allocates
//! from).

use crate::jitsi::coturn::TurnSettings;
use crate::well_formed::Cidr;
use std::collections::BTreeSet;
use std::fmt::Write;

/// Where the ruleset goes.
pub const PATH: &str = "/etc/meet-agent/firewall.nft";
/// The unit that loads it.
pub const UNIT: &str = crate::vocab::Service::Firewall.unit();
/// nftables table the ruleset owns (replaced whole at each load; other tables are left alone).
pub const TABLE: &str = "ryo_jitsi";

/// A transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Proto {
    /// nftables' and the operator's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// One inbound opening: a port or an inclusive range, and why it is open.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Opening {
    /// Protocol.
    pub proto: Proto,
    /// First port.
    pub first: u16,
    /// Last port (equal to `first` for one port).
    pub last: u16,
    /// What listens there.
    pub purpose: &'static str,
}

impl Opening {
    fn port(proto: Proto, port: u16, purpose: &'static str) -> Self {
        Self {
            proto,
            first: port,
            last: port,
            purpose,
        }
    }

    fn ports(&self) -> String {
        if self.first == self.last {
            self.first.to_string()
        } else {
            format!("{}-{}", self.first, self.last)
        }
    }
}

/// What the ruleset is made from.
pub struct Inputs<'a> {
    /// TURN's ports and relay range.
    pub turn: &'a TurnSettings,
    /// The videobridge's media port (UDP).
    pub media_port: u16,
    /// Whether sshd is enabled (then 22/tcp is open).
    pub ssh: bool,
    /// The operator's extra TCP ports (`firewall.allow_tcp`).
    pub extra_tcp: &'a [u16],
    /// The ACME responders' ports when ACME is on (`tls.acme.http_listen` and
    /// `tls_listen`): the CA's validation comes in there, opened with the site.
    pub acme_tcp: &'a [u16],
    /// The operator's extra UDP ports (`firewall.allow_udp`).
    pub extra_udp: &'a [u16],
    /// The web site and TURN run here (roles `all` and `signaling`).
    pub web: bool,
    /// A videobridge runs here.
    pub media: bool,
}

/// prosody's client port, which a signaling node opens to its bridges only.
pub const XMPP_PORT: u16 = crate::vocab::ports::XMPP_CLIENT;

/// Every inbound opening, sorted and without duplicates.
pub fn openings(i: &Inputs<'_>) -> Vec<Opening> {
    let mut set = BTreeSet::new();
    if i.ssh {
        set.insert(Opening::port(Proto::Tcp, 22, "ssh"));
    }
    if i.web {
        // ACME HTTP-01 and the redirect to HTTPS; the site (and TURN by name when it
        // shares 443).
        set.insert(Opening::port(Proto::Tcp, 80, "http"));
        set.insert(Opening::port(Proto::Tcp, 443, "https"));
        set.insert(Opening::port(Proto::Udp, i.turn.port, "turn"));
        set.insert(Opening::port(Proto::Tcp, i.turn.port, "turn"));
        set.insert(Opening::port(Proto::Tcp, i.turn.tls_port, "turns"));
        let (first, last) = i.turn.relay_ports;
        set.insert(Opening {
            proto: Proto::Udp,
            first,
            last,
            purpose: "turn relay",
        });
        // Moved off 80 and 443 (behind a port forward), the responders still have to be
        // reached: a first order now runs after the ruleset is loaded.
        for &p in i.acme_tcp.iter().filter(|p| ![80, 443].contains(*p)) {
            set.insert(Opening::port(Proto::Tcp, p, "acme"));
        }
    }
    if i.media {
        set.insert(Opening::port(Proto::Udp, i.media_port, "videobridge media"));
    }
    for &p in i.extra_tcp {
        set.insert(Opening::port(Proto::Tcp, p, "firewall.allow_tcp"));
    }
    for &p in i.extra_udp {
        set.insert(Opening::port(Proto::Udp, p, "firewall.allow_udp"));
    }
    // One entry per port range: the same port for two purposes is one rule.
    let mut out: Vec<Opening> = Vec::new();
    for o in set {
        if !out
            .iter()
            .any(|x| x.proto == o.proto && x.first == o.first && x.last == o.last)
        {
            out.push(o);
        }
    }
    out
}

/// One line for status: `tcp 22, 80, 443; udp 3478, 10000, 49152-65535`.
pub fn describe(openings: &[Opening]) -> String {
    [Proto::Tcp, Proto::Udp]
        .iter()
        .filter_map(|&proto| {
            let ports: Vec<String> = openings
                .iter()
                .filter(|o| o.proto == proto)
                .map(Opening::ports)
                .collect();
            (!ports.is_empty()).then(|| format!("{} {}", proto.as_str(), ports.join(", ")))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// An opening only some addresses may use: prosody's client port for a signaling node's
/// bridges, jigasi's media ports for the SIP provider.
#[derive(Debug, Clone)]
pub struct Sourced<'a> {
    /// The ports, and what listens there (the key that lists the sources, for the
    /// ruleset's comment).
    pub opening: Opening,
    /// The addresses that may reach them.
    pub sources: &'a [Cidr],
}

impl Sourced<'_> {
    /// prosody's client port for `bridges.allow_cidrs`.
    pub fn xmpp(sources: &[Cidr]) -> Sourced<'_> {
        Sourced {
            opening: Opening::port(
                Proto::Tcp,
                XMPP_PORT,
                "prosody for the bridges (bridges.allow_cidrs)",
            ),
            sources,
        }
    }

    /// jigasi's media ports (`first`..=`last`) for `sip.media_allow_cidrs`.
    pub fn sip_media(first: u16, last: u16, sources: &[Cidr]) -> Sourced<'_> {
        Sourced {
            opening: Opening {
                proto: Proto::Udp,
                first,
                last,
                purpose: "jigasi's media from the SIP provider (sip.media_allow_cidrs)",
            },
            sources,
        }
    }
}

/// What status says of the openings for some addresses only:
/// `; tcp 5222 from 10.0.0.0/16, 2001:db8::/48`.
pub fn describe_sourced(sourced: &[Sourced<'_>]) -> String {
    sourced
        .iter()
        .filter(|s| !s.sources.is_empty())
        .map(|s| {
            let list: Vec<String> = s.sources.iter().map(Cidr::to_string).collect();
            format!(
                "; {} {} from {}",
                s.opening.proto.as_str(),
                s.opening.ports(),
                list.join(", ")
            )
        })
        .collect()
}

/// Renders the ruleset. Loading it replaces the table `ryo_jitsi` in one transaction (the
/// table is declared, deleted and declared again, so the first load and every later one
/// work alike) and touches no other table. Each of `sourced` is open to its sources alone
/// (a signaling node's `bridges.allow_cidrs` to prosody's client port, the SIP provider's
/// media addresses to jigasi's ports).
pub fn render(openings: &[Opening], sourced: &[Sourced<'_>]) -> String {
    let mut o = String::new();
    // `writeln!` into a String cannot fail.
    let _ = writeln!(
        o,
        "#!/usr/sbin/nft -f\n\
         # Managed by meet-agent and rewritten at every boot from its configuration ([jitsi.turn],\n\
         # [firewall]); meet-agent-firewall.service loads it. Inbound traffic that no rule below\n\
         # accepts is dropped. Add ports with firewall.allow_tcp / firewall.allow_udp.\n\
         table inet {TABLE}\n\
         delete table inet {TABLE}\n\
         table inet {TABLE} {{\n    \
             chain input {{\n        \
                 type filter hook input priority filter; policy drop;\n        \
                 ct state established,related accept\n        \
                 ct state invalid drop\n        \
                 iif \"lo\" accept\n        \
                 # Path MTU discovery, errors and ping; IPv6 needs neighbour discovery and\n        \
                 # router advertisements to work at all.\n        \
                 meta l4proto icmp accept\n        \
                 meta l4proto ipv6-icmp accept\n        \
                 # DHCP answers (a lease renewal is tracked, but a DHCPv6 reply to the\n        \
                 # multicast solicit is not).\n        \
                 udp sport 67 udp dport 68 accept\n        \
                 ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept"
    );
    for proto in [Proto::Tcp, Proto::Udp] {
        let mine: Vec<&Opening> = openings.iter().filter(|x| x.proto == proto).collect();
        if mine.is_empty() {
            continue;
        }
        let purposes: Vec<String> = mine
            .iter()
            .map(|x| format!("{} {}", x.ports(), x.purpose))
            .collect();
        let _ = writeln!(o, "        # {}", purposes.join(", "));
        let ports: Vec<String> = mine.iter().map(|x| x.ports()).collect();
        let _ = writeln!(
            o,
            "        {} dport {{ {} }} accept",
            proto.as_str(),
            ports.join(", ")
        );
    }
    for s in sourced {
        for (family, v4) in [("ip", true), ("ip6", false)] {
            let mine: Vec<String> = s
                .sources
                .iter()
                .filter(|c| c.addr.is_ipv4() == v4)
                .map(Cidr::to_string)
                .collect();
            if !mine.is_empty() {
                let _ = writeln!(
                    o,
                    "        # {} {}\n        \
                     {family} saddr {{ {} }} {} dport {} accept",
                    s.opening.ports(),
                    s.opening.purpose,
                    mine.join(", "),
                    s.opening.proto.as_str(),
                    s.opening.ports()
                );
            }
        }
    }
    let _ = writeln!(o, "    }}\n}}");
    o
}

/// The ruleset when the firewall is off: loading it removes our table (and only it).
pub fn render_off() -> String {
    format!(
        "#!/usr/sbin/nft -f\n\
         # Managed by meet-agent: firewall.enabled = false, so loading this removes meet-agent's\n\
         # table and filters nothing.\n\
         table inet {TABLE}\n\
         delete table inet {TABLE}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn() -> TurnSettings {
        TurnSettings {
            port: 3478,
            tls_port: 5349,
            listen: Vec::new(),
            relay_ports: (49152, 65535),
            tls_host: None,
        }
    }

    #[test]
    fn openings_follow_the_configuration_and_ssh() {
        let t = turn();
        let with = openings(&Inputs {
            turn: &t,
            media_port: 10000,
            ssh: true,
            extra_tcp: &[8443],
            extra_udp: &[],
            acme_tcp: &[],
            web: true,
            media: true,
        });
        assert_eq!(
            describe(&with),
            "tcp 22, 80, 443, 3478, 5349, 8443; udp 3478, 10000, 49152-65535"
        );
        let without = openings(&Inputs {
            turn: &t,
            media_port: 10000,
            ssh: false,
            extra_tcp: &[443],
            extra_udp: &[10000],
            acme_tcp: &[],
            web: true,
            media: true,
        });
        // No SSH, and an extra port that is open anyway is one rule, not two.
        assert_eq!(
            describe(&without),
            "tcp 80, 443, 3478, 5349; udp 3478, 10000, 49152-65535"
        );
    }

    #[test]
    fn ruleset_drops_by_default_and_lists_each_port_once() {
        let t = turn();
        let text = render(
            &openings(&Inputs {
                turn: &t,
                media_port: 10000,
                ssh: true,
                extra_tcp: &[],
                extra_udp: &[],
                acme_tcp: &[],
                web: true,
                media: true,
            }),
            &[],
        );
        assert!(text.contains("policy drop;"));
        assert!(text.contains("tcp dport { 22, 80, 443, 3478, 5349 } accept"));
        assert!(text.contains("udp dport { 3478, 10000, 49152-65535 } accept"));
        assert!(!text.contains("5222"));
    }

    #[test]
    fn roles_open_what_runs_there() {
        let t = turn();
        let inputs = |web, media| Inputs {
            turn: &t,
            media_port: 10000,
            ssh: true,
            extra_tcp: &[],
            extra_udp: &[],
            acme_tcp: &[8080, 443],
            web,
            media,
        };
        // A bridge: SSH and media only (it orders no certificate).
        assert_eq!(
            describe(&openings(&inputs(false, true))),
            "tcp 22; udp 10000"
        );
        // A signaling node without a bridge: the site and TURN (and ACME's responder
        // moved to 8080), no media port.
        assert_eq!(
            describe(&openings(&inputs(true, false))),
            "tcp 22, 80, 443, 3478, 5349, 8080; udp 3478, 49152-65535"
        );
        // Its bridges' addresses, and only they, reach 5222.
        let sources = [
            crate::well_formed::parse_cidr("10.0.0.0/16").unwrap(),
            crate::well_formed::parse_cidr("2001:db8::/48").unwrap(),
        ];
        let text = render(
            &openings(&inputs(true, false)),
            &[
                Sourced::xmpp(&sources),
                Sourced::sip_media(20000, 20050, &sources[..1]),
            ],
        );
        assert!(
            text.contains("ip saddr { 10.0.0.0/16 } tcp dport 5222 accept"),
            "{text}"
        );
        assert!(
            text.contains("ip6 saddr { 2001:db8::/48 } tcp dport 5222 accept"),
            "{text}"
        );
        assert!(
            text.contains("ip saddr { 10.0.0.0/16 } udp dport 20000-20050 accept"),
            "{text}"
        );
        assert!(!text.contains("ip6 saddr { 2001:db8::/48 } udp"), "{text}");
        assert_eq!(
            describe_sourced(&[
                Sourced::xmpp(&sources),
                Sourced::sip_media(20000, 20050, &[])
            ]),
            "; tcp 5222 from 10.0.0.0/16, 2001:db8::/48"
        );
    }
}
