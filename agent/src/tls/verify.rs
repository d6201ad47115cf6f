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
    let key = signing_key(pair)?;
    let leaf = pair
        .chain
        .first()
        .ok_or_else(|| anyhow::anyhow!("the certificate chain is empty"))?;
    match belongs(&key, leaf) {
        Belongs::Yes | Belongs::CannotTell => Ok(()),
        Belongs::No => bail!("the private key does not belong to the certificate; supply the key the certificate was issued for"),
        Belongs::Unreadable => bail!("the first certificate cannot be read as an X.509 certificate; supply the certificate as the CA issued it"),
    }
}

/// The names the site's certificate must cover: its domain, else its public IPv4 address,
/// else `localhost`. The tls step and `config check` both ask this, so `config check` does
/// not pass a certificate that the boot would refuse.
pub fn site_names(domain: Option<&str>, public_ipv4: Option<std::net::Ipv4Addr>) -> Vec<String> {
    match (domain, public_ipv4) {
        (Some(domain), _) => vec![domain.to_string()],
        (None, Some(ip)) => vec![ip.to_string()],
        (None, None) => vec!["localhost".to_string()],
    }
}

/// The one check of supplied material (`tls.certificate` and `tls.key`, inline or files;
/// PEM, base64 or gzip+base64): decoded, put leaf first ([`supplied`]), and checked for
/// `names` ([`site_names`]) as of `now` ([`check`]). The tls step installs what passes;
/// `config check` installs nothing.
pub fn check_supplied(
    certificate: &str,
    key: &str,
    names: &[String],
    now: OffsetDateTime,
) -> Result<(Arranged, Checked)> {
    let chain = super::material::read(certificate, "tls.certificate")?;
    let key = super::material::read(key, "tls.key")?;
    let arranged = supplied(&chain, &key)?;
    let checked = check(&arranged.pair, names, now)?;
    Ok((arranged, checked))
}

/// A supplied chain and key (PEM text), parsed and put in the order servers send:
/// [`leaf_first`]. Both `config check` and the tls step take supplied material through
/// here, so they agree on what is accepted.
pub fn supplied(chain: &[u8], key: &[u8]) -> Result<Arranged> {
    leaf_first(Pair::from_pem(chain, key)?)
}

/// A pair as [`leaf_first`] arranged it.
#[derive(Clone)]
pub struct Arranged {
    /// The pair, the key's certificate first.
    pub pair: Pair,
    /// Whether the certificates were given in another order.
    pub reordered: bool,
}

/// Puts the certificate the private key belongs to first, then its issuer, that one's
/// issuer and so on as far as the chain names them, then any other certificates in the
/// order given: nginx, prosody and coturn send the chain as the file lists it, and a
/// client takes the first certificate for the server's. A chain given leaf last (as some
/// CAs' bundles are) is thus installed as it should be. When no certificate holds the
/// key's public key, the error says so in one sentence; when the key's public half cannot
/// be had, the order is kept as given.
pub fn leaf_first(pair: Pair) -> Result<Arranged> {
    let key = signing_key(&pair)?;
    let mut leaf = None;
    for (i, cert) in pair.chain.iter().enumerate() {
        match belongs(&key, cert) {
            Belongs::Yes => {
                leaf = Some(i);
                break;
            }
            Belongs::No => {}
            Belongs::CannotTell => {
                return Ok(Arranged {
                    pair,
                    reordered: false,
                })
            }
            Belongs::Unreadable => bail!(
                "certificate {} of {} cannot be read as an X.509 certificate; supply the certificates as the CA issued them",
                i + 1,
                pair.chain.len()
            ),
        }
    }
    let Some(leaf) = leaf else {
        bail!(
            "the private key does not belong to the certificate{}; supply the key the certificate was issued for, or the certificate issued for this key",
            match pair.chain.len() {
                1 => String::new(),
                n => format!(" (nor to any other of the {n} certificates given)"),
            }
        );
    };
    let mut rest: Vec<_> = pair.chain.clone();
    let mut chain = vec![rest.remove(leaf)];
    // Each certificate's issuer next, as long as the chain holds it.
    while let Some(last) = chain.last().and_then(|c| parse(c).ok()) {
        let issuer = last.issuer().as_raw().to_vec();
        if last.subject().as_raw() == issuer.as_slice() {
            break; // self-signed: the end of the chain
        }
        let next = rest.iter().position(|c| {
            parse(c)
                .map(|p| p.subject().as_raw() == issuer.as_slice())
                .unwrap_or(false)
        });
        match next {
            Some(i) => chain.push(rest.remove(i)),
            None => break,
        }
    }
    chain.extend(rest);
    let reordered = chain != pair.chain;
    Ok(Arranged {
        pair: Pair {
            chain,
            key: pair.key,
        },
        reordered,
    })
}

/// Whether a private key belongs to a certificate.
enum Belongs {
    /// The certificate holds the key's public half.
    Yes,
    /// It holds another public key.
    No,
    /// The key type does not give its public half; nothing can be said.
    CannotTell,
    /// The certificate does not parse.
    Unreadable,
}

/// The private key of `pair` as rustls loads it, or one sentence on why it cannot be used.
fn signing_key(pair: &Pair) -> Result<std::sync::Arc<dyn rustls::sign::SigningKey>> {
    let provider = rustls::crypto::ring::default_provider();
    provider
        .key_provider
        .load_private_key(pair.key.der()?)
        .map_err(|_| {
            anyhow::anyhow!(
                "the private key cannot be used: it is not an RSA, ECDSA (P-256 or P-384) or Ed25519 key, or it is damaged; supply the key the certificate was issued for"
            )
        })
}

/// Compares the key's public half with `cert`'s, as rustls does before it serves a pair.
fn belongs(
    key: &std::sync::Arc<dyn rustls::sign::SigningKey>,
    cert: &rustls_pki_types::CertificateDer<'static>,
) -> Belongs {
    use rustls::{Error, InconsistentKeys};
    match rustls::sign::CertifiedKey::new(vec![cert.clone()], key.clone()).keys_match() {
        Ok(()) => Belongs::Yes,
        Err(Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => Belongs::No,
        Err(Error::InconsistentKeys(InconsistentKeys::Unknown)) => Belongs::CannotTell,
        Err(_) => Belongs::Unreadable,
    }
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
