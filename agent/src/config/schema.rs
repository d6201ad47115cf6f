//! The TOML schema: what a configuration fragment may contain.
//!
//! Every field is optional in a fragment; defaults live here so that a merged config
//! deserializes completely. Unknown keys are rejected (`deny_unknown_fields`). The shipped,
//! commented default file `image/config/00-defaults.toml` documents every key.

pub use crate::jitsi::settings::Quality;
pub use crate::secret::{is_path, Secret, SecretMaterial};
pub use crate::tls::acme::ChallengeChoice;
pub use crate::tune::settings::Tune;
pub use crate::vocab::{AuthMode, Role};
use serde::{Deserialize, Serialize};

/// The whole configuration, as merged from drop-in files and the instance source.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Who this server is.
    pub server: Server,
    /// Where instance data comes from.
    pub source: Source,
    /// Dynamic DNS updates and waiting for DNS.
    pub dns: Dns,
    /// The web certificate.
    pub tls: Tls,
    /// Jitsi component settings.
    pub jitsi: Jitsi,
    /// Tuning the machine and the stack to its size.
    pub tune: Tune,
    /// Scheduled and idle shutdown.
    pub schedule: Schedule,
    /// Security updates and maintenance reboots.
    pub updates: Updates,
    /// The host firewall.
    pub firewall: Firewall,
    /// Administrative access.
    pub access: Access,
    /// Recordings made by jibri (`server.role = "recorder"`): where they go.
    pub recording: Recording,
    /// Phones in meetings: jigasi's SIP account and the dial-in numbers.
    pub sip: Sip,
    /// A signaling node's videobridges (`server.role = "signaling"`).
    pub bridges: Bridges,
    /// A videobridge's signaling node (`server.role = "videobridge"`).
    pub bridge: Bridge,
}

/// `[bridges]`: on a signaling node, the videobridges that join it.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Bridges {
    /// Run a videobridge on the signaling node too.
    pub local: bool,
    /// Addresses or CIDRs (IPv4 or IPv6) the bridges connect from: the only ones the host
    /// firewall lets reach prosody's client port (5222).
    pub allow_cidrs: Vec<String>,
}

/// `[bridge]`: how a videobridge joins its signaling node.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Bridge {
    /// The join token (`meet-agent bridge token` on the signaling node prints it). On a
    /// signaling node, a pre-made token (`--new`) it adopts.
    pub join: Option<Secret>,
    /// The region of this machine in a deployment (unset: the instance source's region,
    /// else "default"): a bridge reports it to jicofo for relays, a signaling node's jicofo
    /// uses it as its own (`local-region`) in region-based selection.
    pub region: Option<String>,
    /// Signaling only, with a pre-made `join` token: the private key of the token's
    /// `auth.DOMAIN` certificate (`meet-agent bridge token --new --key-out` writes it), PEM
    /// inline, gzip+base64 or a path. Bridges never get it.
    pub auth_key: Option<SecretMaterial>,
    /// Videobridge only: where to connect instead of the token's host (on AWS the
    /// signaling node's private address: a security-group rule naming the bridges' group
    /// matches private traffic only). The certificate is still verified for auth.DOMAIN.
    pub signaling_host: Option<String>,
    /// Videobridge only: the Auto Scaling termination lifecycle hook to complete after
    /// draining.
    pub drain_hook: Option<String>,
}

/// `[server]`: the server's name and addresses.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    /// Fully qualified domain name users type into their browser.
    pub domain: Option<String>,
    /// Public IPv4 address; overrides what the instance source reports.
    pub public_ipv4: Option<String>,
    /// Public IPv6 address; overrides what the instance source reports.
    pub public_ipv6: Option<String>,
    /// Operator contact address (the ACME account contact once ACME is used).
    pub contact_email: Option<String>,
    /// Last resort for the public IPv4: a URL that answers the caller's address as text.
    pub public_ip_url: Option<String>,
    /// `all` (default), `signaling` or `videobridge`.
    pub role: Role,
}

/// `[source]`: which instance data provider to use.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Source {
    /// `auto`, `ec2`, `gce`, `lxd`, `config-disk`, `fw-cfg` or `none`.
    pub provider: ProviderChoice,
    /// Base URL of the EC2 instance metadata service.
    pub ec2_endpoint: String,
    /// Base URL of Compute Engine's metadata server.
    pub gce_endpoint: String,
    /// Seconds to keep trying a provider that does not answer yet.
    pub timeout_seconds: u64,
    /// One base URL for the AWS APIs (SSM for `ssm:NAME` values, CloudWatch, Auto
    /// Scaling) instead of the region's public endpoints: a VPC interface endpoint.
    pub aws_endpoint: Option<String>,
    /// A JSON file that states this machine's facts (memory, CPUs, interface addresses,
    /// boot id, clock) instead of the running system: a fixture root's machine in tests.
    pub host_facts: Option<String>,
}

impl Default for Source {
    fn default() -> Self {
        Self {
            provider: ProviderChoice::Auto,
            ec2_endpoint: "http://169.254.169.254".into(),
            gce_endpoint: "http://169.254.169.254".into(),
            timeout_seconds: 30,
            aws_endpoint: None,
            host_facts: None,
        }
    }
}

/// The `source.provider` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderChoice {
    /// Detect from the machine (LXD socket, EC2 DMI vendor, Compute Engine DMI product,
    /// fw_cfg entry, cidata disk).
    Auto,
    /// EC2 instance metadata (IMDSv2).
    Ec2,
    /// Compute Engine's metadata server.
    Gce,
    /// LXD's guest API on /dev/lxd/sock.
    Lxd,
    /// A disk labelled `cidata`.
    ConfigDisk,
    /// QEMU fw_cfg entry `opt/meet-agent/config`.
    FwCfg,
    /// Local configuration files only.
    None,
}

/// `[dns]`: dynamic DNS updates and waiting until DNS answers this server's address.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Dns {
    /// When the updates run: `boot`, `first-boot` and/or `after-start`.
    pub update_on: Vec<UpdateOn>,
    /// Seconds to keep retrying an update that fails in a way that may pass.
    pub update_timeout_seconds: u64,
    /// The update providers, each sent in turn.
    pub update: Vec<DnsUpdate>,
    /// Waiting for DNS before a certificate is ordered.
    pub wait: DnsWait,
}

impl Default for Dns {
    fn default() -> Self {
        Self {
            update_on: vec![UpdateOn::Boot],
            update_timeout_seconds: 60,
            update: Vec::new(),
            wait: DnsWait::default(),
        }
    }
}

/// A `dns.update_on` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateOn {
    /// Every boot, before the certificate step.
    Boot,
    /// Only the first boot of an instance, before the certificate step.
    FirstBoot,
    /// Again once the stack has started.
    AfterStart,
}

/// One `[[dns.update]]` entry: a URL provider or an RFC 2136 server.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DnsUpdate {
    /// `url` or `rfc2136`.
    #[serde(rename = "type")]
    pub kind: UpdateKind,
    /// URL template (`{domain}`, `{ip}`, `{ip6}`, `{password}`, `{token}`).
    pub url: Option<String>,
    /// `GET` or `POST`.
    pub method: Option<String>,
    /// POST body template, same placeholders.
    pub body: Option<String>,
    /// Basic-auth user name.
    pub username: Option<String>,
    /// Basic-auth password (or `{password}` in the URL); never printed.
    pub password: Option<Secret>,
    /// Header that carries `token`.
    pub header: Option<String>,
    /// Token for `header` (or `{token}` in the URL); never printed.
    pub token: Option<Secret>,
    /// Regular expression the response body must match.
    pub expect_body: Option<String>,
    /// RFC 2136: the primary server, `host:port` or `host`.
    pub server: Option<String>,
    /// RFC 2136: the zone to update (default: the domain without its first label).
    pub zone: Option<String>,
    /// RFC 2136: TSIG key name.
    pub key_name: Option<String>,
    /// RFC 2136: `hmac-sha256`, `hmac-sha384` or `hmac-sha512`.
    pub key_algorithm: Option<String>,
    /// RFC 2136: TSIG secret, base64; never printed.
    pub key_secret: Option<Secret>,
    /// RFC 2136: TTL of the records written.
    pub ttl: Option<u32>,
}

/// The `type` of a `[[dns.update]]` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UpdateKind {
    /// A dynamic DNS service's update URL.
    Url,
    /// RFC 2136 dynamic update signed with TSIG.
    Rfc2136,
}

/// `[dns.wait]`: waiting until DNS answers this server's address.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsWait {
    /// Whether to wait before ordering a certificate.
    pub enabled: bool,
    /// Seconds to wait at most; then no order is placed and a timer retries.
    pub timeout_seconds: u64,
    /// Seconds to wait after all servers agree, for caches holding the old record.
    pub min_ttl_wait_seconds: u64,
    /// Recursive resolvers to ask (`host[:port]`); empty means the system's.
    pub resolvers: Vec<String>,
    /// Authoritative servers to ask (`host[:port]`); empty means found by NS lookup.
    pub nameservers: Vec<String>,
    /// Port the zone's nameservers are asked on when found by NS lookup.
    pub nameserver_port: u16,
    /// `udp` (TCP when an answer is truncated) or `tcp` (networks that pass no UDP).
    pub protocol: DnsProtocol,
}

/// The `dns.wait.protocol` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DnsProtocol {
    /// UDP, with TCP for truncated answers.
    Udp,
    /// TCP only.
    Tcp,
}

impl Default for DnsWait {
    fn default() -> Self {
        Self {
            enabled: true,
            timeout_seconds: 600,
            min_ttl_wait_seconds: 0,
            resolvers: Vec::new(),
            nameservers: Vec::new(),
            nameserver_port: 53,
            protocol: DnsProtocol::Udp,
        }
    }
}

/// `[tls]`: a supplied certificate, ACME, or nothing for the fallback.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tls {
    /// Certificate chain, leaf first: inline PEM, base64 or gzip+base64, or an absolute path.
    pub certificate: Option<String>,
    /// Private key in the same forms; never printed.
    pub key: Option<SecretMaterial>,
    /// Certificates from an ACME CA (used when no certificate is supplied).
    pub acme: Acme,
}

/// `[tls.acme]`: obtaining the certificate from an ACME CA.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Acme {
    /// Whether to use ACME when no certificate is supplied.
    pub enabled: bool,
    /// `letsencrypt`, `letsencrypt-staging`, or the directory URL of another CA.
    pub directory: String,
    /// PEM file of an extra root to trust for the directory's own TLS (private CAs).
    pub ca_root: Option<String>,
    /// Address the agent's own HTTP-01 responder listens on.
    pub http_listen: String,
    /// Seconds an order may take before giving up (the fallback stays).
    pub timeout_seconds: u64,
    /// `http-01` or `tls-alpn-01`.
    pub challenge: ChallengeChoice,
    /// Address the agent's own TLS-ALPN-01 responder listens on.
    pub tls_listen: String,
    /// External Account Binding key id (ZeroSSL-style CAs).
    pub eab_kid: Option<String>,
    /// External Account Binding HMAC key, base64url; never printed.
    pub eab_hmac_key: Option<Secret>,
    /// Before the first order from a production CA, do the same order at a staging CA.
    pub staging_dry_run: bool,
    /// The staging directory for the dry run (default: Let's Encrypt staging).
    pub dry_run_directory: Option<String>,
}

impl Default for Acme {
    fn default() -> Self {
        Self {
            enabled: false,
            directory: "letsencrypt".into(),
            ca_root: None,
            http_listen: "0.0.0.0:80".into(),
            timeout_seconds: 120,
            challenge: ChallengeChoice::Http01,
            tls_listen: "0.0.0.0:443".into(),
            eab_kid: None,
            eab_hmac_key: None,
            staging_dry_run: false,
            dry_run_directory: None,
        }
    }
}

/// `[jitsi]`: the Jitsi stack.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Jitsi {
    /// Who may create rooms: `open`, `secure-domain` or `jwt`.
    pub auth: AuthMode,
    /// JWT: the application id tokens carry (`aud`/`iss`).
    pub jwt_app_id: Option<String>,
    /// JWT: the shared secret tokens are signed with; default a per-instance one.
    pub jwt_app_secret: Option<Secret>,
    /// TURN (coturn).
    pub turn: Turn,
    /// The lobby (moderators admit waiting participants); needs Jitsi's prosody plugins.
    pub lobby: bool,
    /// The pre-join page (name, camera and microphone check before joining).
    pub prejoin: bool,
    /// End-to-end encryption offered in the web app.
    pub e2ee: bool,
    /// Audio and video quality in the web app (`config.js`).
    pub quality: Quality,
}

impl Default for Jitsi {
    fn default() -> Self {
        Self {
            auth: AuthMode::default(),
            jwt_app_id: None,
            jwt_app_secret: None,
            turn: Turn::default(),
            lobby: true,
            prejoin: true,
            e2ee: true,
            quality: Quality::default(),
        }
    }
}

/// `[jitsi.turn]`: coturn, for clients whose network blocks the bridge's UDP port.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Turn {
    /// Plain TURN port (UDP and TCP).
    pub port: u16,
    /// TURN over TLS port.
    pub tls_port: u16,
    /// Addresses to listen on; empty means all.
    pub listen: Vec<String>,
    /// Lowest relay port.
    pub relay_min_port: u16,
    /// Highest relay port.
    pub relay_max_port: u16,
    /// A second name of this server (such as turn.meet.example.org) on which nginx hands
    /// port 443 to coturn's TLS port by SNI, for networks that allow only HTTPS; the
    /// certificate is made for it too. Unset: TURN over TLS on `tls_port` only.
    pub tls_host: Option<String>,
}

impl Default for Turn {
    fn default() -> Self {
        Self {
            port: 3478,
            tls_port: 5349,
            listen: Vec::new(),
            relay_min_port: 49152,
            relay_max_port: 65535,
            tls_host: None,
        }
    }
}

/// `[schedule]`: switching the server off when it is not needed.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Schedule {
    /// systemd calendar expressions at which to shut down (meeting-aware).
    pub shutdown: Vec<String>,
    /// Power off after this many minutes without a conference; 0 is off.
    pub idle_shutdown_minutes: u32,
    /// While conferences run, check again after this many minutes.
    pub postpone_minutes: u32,
    /// Postpone a scheduled shutdown at most this long, in minutes.
    pub postpone_limit_minutes: u32,
    /// The videobridge's statistics (loopback).
    pub videobridge_stats_url: String,
    /// jicofo's statistics (loopback).
    pub jicofo_stats_url: String,
    /// How many seconds a "minute" above lasts (1..=3600): tests watch a postponement of
    /// "two minutes" pass in two seconds.
    pub minute_seconds: u64,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            shutdown: Vec::new(),
            idle_shutdown_minutes: 0,
            postpone_minutes: 15,
            postpone_limit_minutes: 120,
            videobridge_stats_url: crate::jitsi::videobridge_api::local_stats_url(),
            jicofo_stats_url: crate::jitsi::jicofo_api::local_stats_url(),
            minute_seconds: 60,
        }
    }
}

/// `[updates]`: security updates and the maintenance window for reboots.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Updates {
    /// `apt-get update` and the security upgrades at an instance's first boot.
    pub first_boot: bool,
    /// How long the first-boot upgrades may take, in seconds.
    pub first_boot_timeout_seconds: u64,
    /// Daily unattended security upgrades.
    pub daily: bool,
    /// Upgrade the Jitsi packages too (else they are held back).
    pub include_jitsi: bool,
    /// systemd calendar expression at which a needed reboot may happen; "" never.
    pub reboot_window: String,
    /// How long the window lasts, in minutes.
    pub reboot_window_minutes: u32,
}

/// `updates.reboot_window`'s default: Sunday 03:00 local time.
pub const DEFAULT_REBOOT_WINDOW: &str = "Sun 03:00";

impl Default for Updates {
    fn default() -> Self {
        Self {
            first_boot: true,
            first_boot_timeout_seconds: 600,
            daily: true,
            include_jitsi: false,
            reboot_window: DEFAULT_REBOOT_WINDOW.into(),
            reboot_window_minutes: 120,
        }
    }
}

/// `[firewall]`: the host firewall (nftables) meet-agent renders and loads.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Firewall {
    /// Drop inbound traffic other than what the stack needs (false: filter nothing).
    pub enabled: bool,
    /// More TCP ports to let in.
    pub allow_tcp: Vec<u16>,
    /// More UDP ports to let in.
    pub allow_udp: Vec<u16>,
}

impl Default for Firewall {
    fn default() -> Self {
        Self {
            enabled: true,
            allow_tcp: Vec::new(),
            allow_udp: Vec::new(),
        }
    }
}

/// `[access]`: who may log in to administer the server.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Access {
    /// SSH public keys (one `authorized_keys` line each) that may log in as root.
    pub ssh_authorized_keys: Vec<String>,
}

/// `[recording]`: where recordings go and how long they stay on disk.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Recording {
    /// Upload finished recordings to this S3 bucket, then delete the local copy.
    pub s3_bucket: Option<String>,
    /// Prepended to `<room>/<time>.mp4` in the bucket (empty, or ending in `/`).
    pub s3_prefix: String,
    /// An S3-compatible store's URL instead of AWS's regional endpoint (path-style).
    pub s3_endpoint: Option<String>,
    /// Files larger than this many MiB go up in parts of this size (5 to 512).
    pub s3_part_mib: u32,
    /// Delete recordings on disk older than this many days; 0 keeps them.
    pub keep_days: u32,
    /// Run a recorder (jibri) on this all-in-one or signaling node too (4 CPUs or more).
    pub local: bool,
    /// Live streaming targets jibri accepts: Java regular expressions, each matching a
    /// whole `rtmp://` or `rtmps://` URL (jibri's `rtmp-allow-list`). Unset: the
    /// well-known services' ingest URLs; `[]`: no live streaming.
    pub rtmp_allow: Option<Vec<String>>,
    /// Refuse new recordings below this much free space for jibri's recordings (MiB); stop
    /// one in progress below a quarter of it.
    pub min_free_mib: u32,
}

impl Default for Recording {
    fn default() -> Self {
        Self {
            s3_bucket: None,
            s3_prefix: String::new(),
            s3_endpoint: None,
            s3_part_mib: 16,
            keep_days: 30,
            local: false,
            rtmp_allow: None,
            min_free_mib: 4096,
        }
    }
}

/// `[sip]`: the SIP account jigasi registers with, the numbers callers dial in on, and
/// where jigasi runs.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sip {
    /// The SIP registrar and outbound proxy: a host name or an IP address.
    pub server: Option<String>,
    /// Its port (5060, or 5061 for TLS).
    pub port: Option<u16>,
    /// `udp` (default), `tcp` or `tls`.
    pub transport: Option<String>,
    /// The account's user name.
    pub username: Option<String>,
    /// The account's password (or `ssm:NAME` on AWS).
    pub password: Option<Secret>,
    /// The domain of the account's address when it is not the server's name.
    pub domain: Option<String>,
    /// Numbers to show for dial-in, per ISO country code: `{ US = ["+1 555 0100"] }`.
    pub dial_in_numbers: std::collections::BTreeMap<String, Vec<String>>,
    /// The room a call that names none goes to.
    pub default_room: Option<String>,
    /// Run jigasi on this all-in-one or signaling node.
    pub local: bool,
    /// Addresses or CIDRs the SIP provider sends media from, when it needs jigasi's media
    /// ports open to it (most send media back on the path jigasi's own packets opened).
    pub media_allow_cidrs: Vec<String>,
}

/// A section whose keys arrive with a later release: present so the layout is stable, and
/// empty so that a key set there is reported as unknown rather than silently ignored.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Reserved {}
