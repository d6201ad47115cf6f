//! When to talk to the CA next: the CA's Retry-After after a rate limit, and its ACME
//! Renewal Information (RFC 9773) for the installed certificate. Kept in
//! `/var/lib/meet-agent/acme/schedule.json` so reboots and timer runs honour them.

use super::acme::AcmeSettings;
use super::acme_http::{RecordingClient, RetryAfter};
use super::time_limit;
use crate::fsutil::{read_optional, write_atomic};
use crate::paths::Paths;
use anyhow::{Context, Result};
use instant_acme::{CertificateIdentifier, RenewalInfo};
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

/// When the CA's renewal information (ARI) says to renew `leaf`: asked at most every
/// [`ARI_QUIET`] or as the CA's `Retry-After` says (held to [`time_limit::MAX_WAIT`]), and
/// remembered in the schedule between runs. `None` when the CA offers none or cannot be
/// asked; the one-third rule then decides alone.
///
/// Renewal information is a plain GET (RFC 9773 4.1): no account is needed, and none is
/// created, so asking never makes a production CA look "already used" (which would skip
/// the staging dry run before the first real order).
pub async fn renewal_time(
    paths: &Paths,
    acme: &AcmeSettings,
    leaf: &[u8],
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    let der = CertificateDer::from(leaf.to_vec());
    let id = CertificateIdentifier::try_from(&der).ok()?.to_string();
    let mut schedule = Schedule::load(paths);
    let fresh = schedule.ari_certificate.as_deref() == Some(id.as_str())
        && schedule.ari_next_check.is_some_and(|t| t > now);
    if !fresh {
        schedule.ari_certificate = Some(id.clone());
        // Bounded: an unreachable CA must not hold up a boot whose certificate is fine.
        let fetched = tokio::time::timeout(ARI_TIMEOUT, fetch(acme, &id))
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("no answer within {ARI_TIMEOUT:?}")));
        match fetched {
            Ok((start, end, retry)) => {
                schedule.ari_renew_at = Some(pick_in_window(start, end, now));
                schedule.ari_next_check = Some(time_limit::offset_after(
                    now,
                    retry.max(Duration::from_secs(60)),
                ));
            }
            Err(e) => {
                tracing::debug!("no renewal information from the CA: {e:#}");
                schedule.ari_renew_at = None;
                schedule.ari_next_check = Some(time_limit::offset_after(now, ARI_QUIET));
            }
        }
        if let Err(e) = schedule.save(paths) {
            tracing::warn!("cannot save the ACME schedule: {e:#}");
        }
    }
    schedule.ari_renew_at
}

/// A point in the CA's suggested window. RFC 9773 4.2: a uniformly random point spreads
/// the load; the sub-second clock is random enough for that. Never overflows, however far
/// in the future the CA puts the window.
pub fn pick_in_window(
    start: OffsetDateTime,
    end: OffsetDateTime,
    now: OffsetDateTime,
) -> OffsetDateTime {
    let span = (end - start).whole_seconds().max(0);
    let pick = if span > 0 {
        i64::from(now.nanosecond()) % span
    } else {
        0
    };
    start
        .checked_add(time::Duration::seconds(pick))
        .unwrap_or(start)
}

/// The CA's directory as far as renewal information goes.
#[derive(Deserialize)]
struct Directory {
    /// RFC 9773's renewal information endpoint, when the CA offers it.
    #[serde(rename = "renewalInfo")]
    renewal_info: Option<String>,
}

/// Asks the CA for the renewal window of the certificate `id` (`AKI.serial`), with plain
/// GETs of its directory and of the renewal information: no account, no nonce.
async fn fetch(
    acme: &AcmeSettings,
    id: &str,
) -> Result<(OffsetDateTime, OffsetDateTime, Duration)> {
    let client = RecordingClient::new(acme.ca_root.as_deref(), RetryAfter::default())?;
    let (status, _, body) = client.get(&acme.directory).await?;
    if !status.is_success() {
        anyhow::bail!("the directory {} answered {status}", acme.directory);
    }
    let directory: Directory = serde_json::from_slice(&body)
        .with_context(|| format!("the directory {} is not ACME JSON", acme.directory))?;
    let Some(base) = directory.renewal_info else {
        anyhow::bail!("{} offers no renewal information", acme.directory);
    };
    let url = format!("{}/{id}", base.trim_end_matches('/'));
    let (status, retry, body) = client.get(&url).await?;
    if !status.is_success() {
        anyhow::bail!("{url} answered {status}");
    }
    let info: RenewalInfo = serde_json::from_slice(&body)
        .with_context(|| format!("{url} is not renewal information"))?;
    let retry = retry
        .and_then(|asked| asked.at.duration_since(std::time::SystemTime::now()).ok())
        .unwrap_or(ARI_QUIET);
    Ok((
        info.suggested_window.start,
        info.suggested_window.end,
        retry,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_at_the_end_of_time_picks_without_overflow() {
        let end_of_time = OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT);
        let now = OffsetDateTime::now_utc();
        let start = end_of_time - time::Duration::days(1);
        let at = pick_in_window(start, end_of_time, now);
        assert!(at >= start && at <= end_of_time);
        assert_eq!(pick_in_window(end_of_time, start, now), end_of_time);
        let far = OffsetDateTime::new_utc(time::Date::MIN, time::Time::MIDNIGHT);
        assert!(pick_in_window(far, end_of_time, now) >= far);
    }
}
