//! `config check`'s look at supplied certificate material: decoded and checked as the tls
//! step would before installing it, installed nowhere, so that a broken `tls.certificate`
//! or `tls.key` is found before boot rather than at boot.

use super::validate::TlsSupplied;
use crate::tls::{material, verify};
use anyhow::{anyhow, Result};

/// Decodes the supplied certificate and key (inline or files; PEM, base64 or gzip+base64),
/// parses them as a pair put leaf first as the tls step installs it ([`verify::supplied`]),
/// and checks them for `domain` as of `now`: the key belongs to the certificate, which
/// names the domain and is valid. The error names the origin, the key
/// and the reason; no material is written anywhere.
pub fn check_supplied(
    supplied: &TlsSupplied,
    domain: Option<&str>,
    now: time::OffsetDateTime,
) -> Result<()> {
    let fail = |e: anyhow::Error| anyhow!("{}: key `tls.certificate`: {e:#}", supplied.origin);
    let chain = material::read(&supplied.certificate, "tls.certificate").map_err(fail)?;
    let key = material::read(supplied.key.expose(), "tls.key").map_err(fail)?;
    let pair = verify::supplied(&chain, &key).map_err(fail)?.pair;
    let wanted: Vec<String> = domain.map(str::to_string).into_iter().collect();
    verify::check(&pair, &wanted, now).map_err(fail)?;
    Ok(())
}
