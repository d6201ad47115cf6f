//! The self-signed fallback certificate: made with rcgen so the stack can start with TLS
//! before (or without) a real certificate.

use super::material::Pair;
use anyhow::{Context, Result};
use rcgen::{CertificateParams, DnType, KeyPair};
use time::{Duration, OffsetDateTime};

/// Organization name that marks our own fallback certificates.
pub const ORGANIZATION: &str = "meet-agent self-signed fallback";

/// How long a fallback certificate is valid.
pub const LIFETIME_DAYS: i64 = 365;

/// Makes a self-signed certificate (ECDSA P-256) for `names` (DNS names or IP addresses).
pub fn generate(names: &[String], now: OffsetDateTime) -> Result<Pair> {
    generate_as(names, ORGANIZATION, Duration::days(LIFETIME_DAYS), now)
}

/// A self-signed certificate (ECDSA P-256) for `names`, its subject's organization
/// `organization`, valid from an hour before `now` for `lifetime`.
pub fn generate_as(
    names: &[String],
    organization: &str,
    lifetime: Duration,
    now: OffsetDateTime,
) -> Result<Pair> {
    let key = KeyPair::generate().context("failed to generate a key")?;
    let mut params = CertificateParams::new(names.to_vec())
        .context("failed to build the self-signed certificate's names")?;
    if let Some(first) = names.first() {
        params
            .distinguished_name
            .push(DnType::CommonName, first.as_str());
    }
    params
        .distinguished_name
        .push(DnType::OrganizationName, organization);
    params.not_before = now - Duration::hours(1);
    params.not_after = now + lifetime;
    let cert = params
        .self_signed(&key)
        .context("failed to sign the self-signed certificate")?;
    Pair::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())
}

/// Whether a summary is of our fallback certificate (by its organization name).
pub fn is_ours(subject: &str) -> bool {
    subject.contains(ORGANIZATION)
}
