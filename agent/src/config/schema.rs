//! The TOML schema: what a configuration fragment may contain.
//!
//! Every field is optional in a fragment; defaults live here so that a merged config
//! deserializes completely. Unknown keys are rejected (`deny_unknown_fields`). The shipped,
//! commented default file `image/config/00-defaults.toml` documents every key.

use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// The whole configuration, as merged from drop-in files and the instance source.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Who this server is.
    pub server: Server,
    /// Where instance data comes from.
    pub source: Source,
    /// Dynamic DNS and waiting for DNS (reserved; filled in by a later release).
    pub dns: Reserved,
    /// The web certificate.
    pub tls: Tls,
    /// Jitsi component settings (reserved).
    pub jitsi: Reserved,
    /// Machine tuning (reserved).
    pub tune: Reserved,
    /// Scheduled and idle shutdown (reserved).
    pub schedule: Reserved,
    /// Security updates (reserved).
    pub updates: Reserved,
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
}

/// `[source]`: which instance data provider to use.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Source {
    /// `auto`, `ec2`, `lxd`, `config-disk`, `fw-cfg` or `none`.
    pub provider: ProviderChoice,
    /// Base URL of the EC2 instance metadata service.
    pub ec2_endpoint: String,
    /// Seconds to keep trying a provider that does not answer yet.
    pub timeout_seconds: u64,
}

impl Default for Source {
    fn default() -> Self {
        Self {
            provider: ProviderChoice::Auto,
            ec2_endpoint: "http://169.254.169.254".into(),
            timeout_seconds: 30,
        }
    }
}

/// The `source.provider` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderChoice {
    /// Detect from the machine (LXD socket, EC2 DMI vendor, fw_cfg entry, cidata disk).
    Auto,
    /// EC2 instance metadata (IMDSv2).
    Ec2,
    /// LXD's guest API on /dev/lxd/sock.
    Lxd,
    /// A disk labelled `cidata`.
    ConfigDisk,
    /// QEMU fw_cfg entry `opt/meet-agent/config`.
    FwCfg,
    /// Local configuration files only.
    None,
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
}

impl Default for Acme {
    fn default() -> Self {
        Self {
            enabled: false,
            directory: "letsencrypt".into(),
            ca_root: None,
            http_listen: "0.0.0.0:80".into(),
            timeout_seconds: 120,
        }
    }
}

/// A section whose keys arrive with a later release: present so the layout is stable, and
/// empty so that a key set there is reported as unknown rather than silently ignored.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Reserved {}

/// Key material given inline or as an absolute path. Inline material never appears in
/// `config show`, `Debug` output or logs; a path does, since it helps and reveals nothing.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct SecretMaterial(String);

impl SecretMaterial {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw value, for the code that decodes it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn shown(&self) -> &str {
        if is_path(&self.0) {
            &self.0
        } else {
            "<redacted>"
        }
    }
}

impl fmt::Debug for SecretMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.shown())
    }
}

impl Serialize for SecretMaterial {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.shown())
    }
}

/// Whether a material value names a file rather than holding the data: an absolute path.
/// No valid inline form starts with `/` (PEM starts with `-`, base64 of PEM with `L`,
/// base64 of gzip with `H`).
pub fn is_path(value: &str) -> bool {
    value.starts_with('/') && !value.contains('\n')
}
