//! When to talk to the CA next: the CA's Retry-After after a rate limit, and its ACME
//! Renewal Information (RFC 9773) for the installed certificate. Kept in
//! `/var/lib/meet-agent/acme/schedule.json` so reboots and timer runs honour them.

use super::acme::{self, AcmeSettings};
use super::acme_http::RetryAfter;
use crate::fsutil::{read_optional, write_atomic};
use crate::paths::Paths;
use anyhow::Result;
use instant_acme::CertificateIdentifier;
use rustls_pki_types::CertificateDer;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use time::OffsetDateTime;

/// The saved schedule.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Schedule {
    /// Do not order before this time (the CA asked us to wait).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub retry_not_before: Option<OffsetDateTime>,
    /// The CA's words when it asked us to wait.
    pub retry_reason: Option<String>,
    /// ARI: the certificate (`AKI.serial`) the renewal time below belongs to.
    pub ari_certificate: Option<String>,
    /// ARI: renew at this time, chosen inside the CA's suggested window.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ari_renew_at: Option<OffsetDateTime>,
    /// ARI: ask the CA again after this time.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ari_next_check: Option<OffsetDateTime>,
}

/// How long to wait before asking again when the CA has no ARI or cannot be reached.
const ARI_QUIET: Duration = Duration::from_secs(6 * 3600);

/// How long one renewal-information request may take.
const ARI_TIMEOUT: Duration = Duration::from_secs(10);

impl Schedule {
    fn file(paths: &Paths) -> std::path::PathBuf {
        paths.join("/var/lib/meet-agent/acme/schedule.json")
    }

    /// Reads the schedule; a missing or unreadable file is an empty schedule.
    pub fn load(paths: &Paths) -> Self {
        read_optional(&Self::file(paths))
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Writes the schedule atomically.
    pub fn save(&self, paths: &Paths) -> Result<()> {
        write_atomic(&Self::file(paths), &serde_json::to_vec_pretty(self)?, 0o644)?;
        Ok(())
    }
}

/// Whether the CA's renewal information says `leaf` should be renewed now. `None` when
/// the CA offers none or cannot be asked; the one-third rule then decides alone.
pub async fn ari_says_renew(
    paths: &Paths,
    acme: &AcmeSettings,
    leaf: &[u8],
    now: OffsetDateTime,
) -> Option<bool> {
    let der = CertificateDer::from(leaf.to_vec());
    let id = CertificateIdentifier::try_from(&der).ok()?.to_string();
    let mut schedule = Schedule::load(paths);
    let fresh = schedule.ari_certificate.as_deref() == Some(id.as_str())
        && schedule.ari_next_check.is_some_and(|t| t > now);
    if !fresh {
        schedule.ari_certificate = Some(id.clone());
        // Bounded: an unreachable CA must not hold up a boot whose certificate is fine.
        let fetched = tokio::time::timeout(ARI_TIMEOUT, fetch(paths, acme, &der))
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("no answer within {ARI_TIMEOUT:?}")));
        match fetched {
            Ok((start, end, retry)) => {
                // RFC 9773 4.2: a uniformly random point in the window spreads the load;
                // the sub-second clock is random enough for that.
                let span = (end - start).whole_seconds().max(0);
                let pick = if span > 0 {
                    i64::from(now.nanosecond()) % span
                } else {
                    0
                };
                schedule.ari_renew_at = Some(start + time::Duration::seconds(pick));
                schedule.ari_next_check = Some(now + retry.max(Duration::from_secs(60)));
            }
            Err(e) => {
                tracing::debug!("no renewal information from the CA: {e:#}");
                schedule.ari_renew_at = None;
                schedule.ari_next_check = Some(now + ARI_QUIET);
            }
        }
        if let Err(e) = schedule.save(paths) {
            tracing::warn!("cannot save the ACME schedule: {e:#}");
        }
    }
    schedule.ari_renew_at.map(|at| at <= now)
}

async fn fetch(
    paths: &Paths,
    acme: &AcmeSettings,
    der: &CertificateDer<'_>,
) -> Result<(OffsetDateTime, OffsetDateTime, Duration)> {
    let id = CertificateIdentifier::try_from(der).map_err(|e| anyhow::anyhow!(e))?;
    let account = acme::account(paths, acme, &RetryAfter::default()).await?;
    let (info, retry) = account.renewal_info(&id).await?;
    Ok((
        info.suggested_window.start,
        info.suggested_window.end,
        retry,
    ))
}
