//! Checks a certificate/key pair before it is installed: the key matches the leaf, the leaf
//! names the domain, it is within its validity, and the chain is in issuing order.

use super::inspect::{covers, parse, summarize, CertSummary};
use super::material::Pair;
use crate::plan::certificate::CLOCK_SKEW;
use anyhow::{bail, Result};
use time::OffsetDateTime;

/// Days of validity left below which a certificate is installed with a warning.
pub const WARN_DAYS: i64 = 14;

/// The outcome of a successful check.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The leaf's summary.
    pub summary: CertSummary,
    /// Problems that do not stop the install (expiring soon).
    pub warnings: Vec<String>,
}

/// Checks that the private key belongs to the leaf certificate.
pub fn key_matches(pair: &Pair) -> Result<()> {
    let provider = rustls::crypto::ring::default_provider();
    if let Err(e) =
        rustls::sign::CertifiedKey::from_der(pair.chain.clone(), pair.key.der()?, &provider)
    {
        bail!("the private key does not belong to the certificate ({e}); supply the key the certificate was issued for");
    }
    Ok(())
}

/// Checks that each certificate of the chain was issued by the next one.
pub fn chain_in_order(pair: &Pair) -> Result<()> {
    for (i, pair_of) in pair.chain.windows(2).enumerate() {
        let (child, parent) = (parse(&pair_of[0])?, parse(&pair_of[1])?);
        if child.issuer().as_raw() != parent.subject().as_raw() {
            bail!(
                "the certificate chain is out of order: certificate {} ({}) did not issue certificate {} (issued by {}); list the leaf first, then each issuer in turn",
                i + 2,
                parent.subject(),
                i + 1,
                child.issuer()
            );
        }
    }
    Ok(())
}

/// Checks `pair` for the names in `wanted` as of `now`. Each failure is one sentence naming
/// the problem and what to do.
pub fn check(pair: &Pair, wanted: &[String], now: OffsetDateTime) -> Result<Checked> {
    key_matches(pair)?;
    let leaf_der = pair
        .chain
        .first()
        .ok_or_else(|| anyhow::anyhow!("the certificate chain is empty"))?;
    let leaf = parse(leaf_der)?;
    let summary = summarize(leaf_der, now)?;
    for name in wanted {
        if !covers(&summary.names, name) {
            bail!(
                "the certificate does not cover {name} (it names {}); supply a certificate whose subject alternative names include {name}",
                if summary.names.is_empty() { "nothing".to_string() } else { summary.names.join(", ") }
            );
        }
    }
    let validity = leaf.validity();
    // A certificate issued a moment ago may start a few seconds "in the future" when the CA's
    // clock runs ahead of ours (pebble does not backdate at all); allow some skew.
    if validity.not_before.to_datetime() > now + CLOCK_SKEW {
        bail!(
            "the certificate is not valid before {}; check the machine's clock or the certificate",
            summary.not_before
        );
    }
    if validity.not_after.to_datetime() <= now {
        bail!(
            "the certificate expired on {}; supply a renewed certificate",
            summary.not_after
        );
    }
    chain_in_order(pair)?;
    let mut warnings = Vec::new();
    if summary.days_left < WARN_DAYS {
        warnings.push(format!(
            "the certificate expires in {} days ({}); supply a renewed one",
            summary.days_left, summary.not_after
        ));
    }
    Ok(Checked { summary, warnings })
}
