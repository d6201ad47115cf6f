//! `config check`'s look at supplied certificate material: decoded and checked as the tls
//! step would before installing it, installed nowhere, so that a broken `tls.certificate`
//! or `tls.key` is found before boot rather than at boot.

use super::validate::TlsSupplied;
use crate::tls::verify;
use anyhow::{anyhow, Result};

/// Checks the supplied certificate and key as the tls step does before installing them
/// ([`verify::check_supplied`]), for the names the boot would want of them
/// ([`verify::site_names`]: the domain, else the public IPv4 address, else `localhost`).
/// The error names the origin, the key and the reason; no material is written anywhere.
pub fn check_supplied(
    supplied: &TlsSupplied,
    domain: Option<&str>,
    public_ipv4: Option<std::net::Ipv4Addr>,
    now: time::OffsetDateTime,
) -> Result<()> {
    let names = verify::site_names(domain, public_ipv4);
    verify::check_supplied(&supplied.certificate, supplied.key.expose(), &names, now)
        .map_err(|e| anyhow!("{}: key `tls.certificate`: {e:#}", supplied.origin))?;
    Ok(())
}
