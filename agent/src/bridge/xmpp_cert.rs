//! The certificate a signaling node's prosody presents for `auth.DOMAIN` on its client port
//! (5222), where videobridges of their own machines log in. The bridges trust exactly this
//! certificate (it travels in the join token), so it is self-signed and long-lived: made
//! once per instance, or adopted from a pre-made token with its key (`bridge.auth_key`).

use crate::bridge::token::Token;
use crate::fsutil::{read_optional, write_atomic_for_group};
use crate::paths::Paths;
use crate::tls::material::Pair;
use anyhow::{anyhow, Context, Result};
use time::{Duration, OffsetDateTime};

/// The certificate (PEM), as prosody's configuration names it.
pub const CERT: &str = "/etc/meet-agent/xmpp/auth.crt";
/// Its private key (PEM), readable by root and prosody only.
pub const KEY: &str = "/etc/meet-agent/xmpp/auth.key";
/// How long a certificate made here is valid: bridges pin it through the token, so it
/// outlives the deployment rather than needing a renewal every bridge would have to learn.
pub const LIFETIME_DAYS: i64 = 3650;

/// The installed pair, if both files are there and parse.
pub fn installed(paths: &Paths) -> Option<Pair> {
    let chain = read_optional(&paths.join(CERT)).ok()??;
    let key = read_optional(&paths.join(KEY)).ok()??;
    Pair::from_pem(&chain, &key).ok()
}

/// Makes a self-signed certificate for `auth.DOMAIN`.
pub fn generate(domain: &str, now: OffsetDateTime) -> Result<Pair> {
    let name = crate::plan::xmpp::XmppNames::new(domain).auth;
    crate::tls::selfsigned::generate_as(
        &[name],
        "ryo-jitsi signaling",
        Duration::days(LIFETIME_DAYS),
        now,
    )
    .context("failed to make the XMPP certificate")
}

/// Whether `pair` names `auth.DOMAIN`.
fn covers(pair: &Pair, domain: &str) -> bool {
    let wanted = crate::plan::xmpp::XmppNames::new(domain).auth;
    pair.chain
        .first()
        .and_then(|leaf| crate::tls::inspect::parse(leaf).ok())
        .is_some_and(|cert| crate::tls::inspect::names(&cert).contains(&wanted))
}

/// What [`ensure`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The installed pair was kept.
    Kept,
    /// A new pair was made (first boot, another domain, or a broken one).
    Made,
    /// The pre-made token's certificate and its key were installed.
    Adopted,
}

/// Installs the pair prosody presents for `auth.DOMAIN`: the pre-made token's certificate
/// with `adopted_key` (PEM) when given, else the installed one when it still names the
/// domain, else a new one. Files are written atomically, the key for prosody's group;
/// `before_write` runs first (it records prosody's pending refresh, so a run killed
/// between the writes and the reload still reloads at the next run).
pub fn ensure(
    paths: &Paths,
    domain: &str,
    adopted: Option<(&Token, &[u8])>,
    now: OffsetDateTime,
    before_write: impl FnOnce() -> Result<()>,
) -> Result<(Pair, Outcome)> {
    let installed = installed(paths);
    let (pair, outcome) = match adopted {
        Some((token, key)) => {
            let pair = Pair::from_pem(token.certificate_pem().as_bytes(), key).map_err(|e| {
                anyhow!(
                    "bridge.auth_key does not belong to the certificate in bridge.join ({e:#}); give the key `meet-agent bridge token --new --key-out` wrote with that token"
                )
            })?;
            crate::tls::verify::check(
                &pair,
                &[crate::plan::xmpp::XmppNames::new(domain).auth],
                now,
            )
            .map_err(|e| {
                anyhow!("the certificate in bridge.join cannot serve auth.{domain}: {e:#}")
            })?;
            let same = installed
                .as_ref()
                .is_some_and(|i| i.chain_pem() == pair.chain_pem());
            (
                pair,
                if same {
                    Outcome::Kept
                } else {
                    Outcome::Adopted
                },
            )
        }
        None => match installed {
            Some(pair) if covers(&pair, domain) => (pair, Outcome::Kept),
            _ => (generate(domain, now)?, Outcome::Made),
        },
    };
    if outcome != Outcome::Kept {
        before_write()?;
        // The key first: prosody reading a new certificate with the old key fails to start
        // the listener, while an unchanged certificate with a new key cannot happen (both
        // change together on every path above).
        write_atomic_for_group(
            &paths.join(KEY),
            pair.key.pem().as_bytes(),
            0o640,
            "prosody",
        )?;
        write_atomic_for_group(
            &paths.join(CERT),
            pair.chain_pem().as_bytes(),
            0o644,
            "prosody",
        )?;
    }
    Ok((pair, outcome))
}
