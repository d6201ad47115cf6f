//! What a certificate says: names, issuer, validity. Used by validation and by `status`.

pub use crate::well_formed::covers;
use ::time::OffsetDateTime;
use anyhow::{anyhow, Result};
use rustls_pki_types::CertificateDer;
use serde::Serialize;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// A summary of a leaf certificate, as `status` shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CertSummary {
    /// Subject distinguished name.
    pub subject: String,
    /// DNS names and IP addresses in the subject alternative names.
    pub names: Vec<String>,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Whether issuer and subject are the same name.
    pub self_signed: bool,
    /// Start of validity, RFC 3339.
    pub not_before: String,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// Whole days until `not_after` from now (negative when expired).
    pub days_left: i64,
}

/// Parses one DER certificate.
pub fn parse<'a>(der: &'a CertificateDer<'_>) -> Result<X509Certificate<'a>> {
    X509Certificate::from_der(der.as_ref())
        .map(|(_, cert)| cert)
        .map_err(|e| anyhow!("not a valid X.509 certificate: {e}"))
}

/// The subject alternative names of `cert`, DNS names lower-case.
pub fn names(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(d) => Some(d.to_ascii_lowercase()),
            GeneralName::IPAddress(bytes) => ip_from_bytes(bytes).map(|ip| ip.to_string()),
            _ => None,
        })
        .collect()
}

fn ip_from_bytes(bytes: &[u8]) -> Option<std::net::IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(std::net::IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(std::net::IpAddr::from),
        _ => None,
    }
}

/// Summarises a leaf certificate as of `now`.
pub fn summarize(der: &CertificateDer<'_>, now: OffsetDateTime) -> Result<CertSummary> {
    let cert = parse(der)?;
    let not_before = cert.validity().not_before.to_datetime();
    let not_after = cert.validity().not_after.to_datetime();
    let rfc3339 = |t: OffsetDateTime| {
        t.format(&::time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    Ok(CertSummary {
        subject: cert.subject().to_string(),
        names: names(&cert),
        issuer: cert.issuer().to_string(),
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
        not_before: rfc3339(not_before),
        not_after: rfc3339(not_after),
        days_left: (not_after - now).whole_days(),
    })
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn wildcards_cover_one_label() {
        let names = vec!["*.example.org".to_string(), "example.org".to_string()];
        assert!(covers(&names, "meet.example.org"));
        assert!(covers(&names, "EXAMPLE.org"));
        assert!(!covers(&names, "a.meet.example.org"));
        assert!(!covers(&names, "example.com"));
    }
}
