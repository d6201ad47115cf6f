//! `[sip]` as configuration settles it (config builds [`SipSettings`]).

use crate::secret::Secret;

/// How jigasi reaches the SIP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// SIP over UDP (port 5060 by default).
    Udp,
    /// SIP over TCP (5060).
    Tcp,
    /// SIP over TLS (5061).
    Tls,
}

impl Transport {
    /// The value as written in the configuration (`sip.transport`).
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }

    /// The name jigasi's SIP stack takes (`PREFERRED_TRANSPORT`, `SERVER_TRANSPORT`).
    pub fn jigasi_name(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }

    /// The SIP port a server listens on for this transport unless told otherwise.
    pub fn default_port(self) -> u16 {
        match self {
            Transport::Tls => 5061,
            Transport::Udp | Transport::Tcp => 5060,
        }
    }

    /// Parses `sip.transport` (case-insensitive).
    pub fn parse(text: &str) -> Option<Transport> {
        match text.to_ascii_lowercase().as_str() {
            "udp" => Some(Transport::Udp),
            "tcp" => Some(Transport::Tcp),
            "tls" => Some(Transport::Tls),
            _ => None,
        }
    }
}

/// The SIP account jigasi registers with.
#[derive(Debug, Clone)]
pub struct SipAccount {
    /// The registrar (and outbound proxy): a host name or an IP address.
    pub server: String,
    /// Its port.
    pub port: u16,
    /// How to reach it.
    pub transport: Transport,
    /// The account's user name (the user part of its address, and the digest login).
    pub username: String,
    /// The digest password (never shown; only jigasi's own file holds it).
    pub password: Secret,
    /// The domain of the account's address (`username@domain`): `sip.domain`, else the
    /// server.
    pub domain: String,
}

impl SipAccount {
    /// The account's address without scheme, `username@domain`.
    pub fn address(&self) -> String {
        format!("{}@{}", self.username, self.domain)
    }
}

/// A number callers dial into meetings, shown in the invite dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialInNumber {
    /// ISO 3166 country code, upper case (`US`, `DE`).
    pub country: String,
    /// The number as shown (`+1 555 0100`).
    pub number: String,
}

/// `[sip]` settled: the account, the dial-in numbers, where jigasi runs.
#[derive(Debug, Clone, Default)]
pub struct SipSettings {
    /// The account; `None` when `[sip]` names none (no phones in meetings).
    pub account: Option<SipAccount>,
    /// The numbers to show for dial-in, in configuration order per country.
    pub dial_in: Vec<DialInNumber>,
    /// The room a call without a room goes to (`sip.default_room`).
    pub default_room: Option<String>,
    /// jigasi runs on this all-in-one or signaling node (`sip.local`).
    pub local: bool,
    /// The SIP provider's media addresses, which may send to jigasi's media ports
    /// (`sip.media_allow_cidrs`; empty: none, for providers that send media back on the
    /// path jigasi's own packets opened).
    pub media_sources: Vec<crate::well_formed::Cidr>,
}

impl SipSettings {
    /// The deployment offers phones in meetings: an account is configured.
    pub fn offered(&self) -> bool {
        self.account.is_some()
    }

    /// Callers dial in: an account and numbers to show are configured, so the site serves
    /// the numbers and the PIN service (jitsi/dial_in.rs) and config.js points at them.
    pub fn serves_dial_in(&self) -> bool {
        self.account.is_some() && !self.dial_in.is_empty()
    }

    /// jigasi runs on this machine.
    pub fn runs_here(&self) -> bool {
        self.local && self.account.is_some()
    }
}
