//! The web certificate: decoding supplied material, checking it, installing it, and the
//! self-signed fallback that keeps the server reachable when nothing better is available.

pub mod acme;
pub mod acme_http;
pub mod challenge;
pub mod inspect;
pub mod material;
pub mod schedule;
pub mod selfsigned;
pub mod verify;

pub use inspect::CertSummary;
pub use material::{KeyPem, Pair};

use crate::fsutil::write_atomic;
use crate::paths::Paths;
use anyhow::Result;

/// Installs `pair` at the stable paths (key 0600 first, then the chain), each atomically.
/// Returns whether either file changed.
pub fn install(paths: &Paths, pair: &Pair) -> Result<bool> {
    let key_changed = write_atomic(&paths.tls_privkey(), pair.key.pem().as_bytes(), 0o600)?;
    let chain_changed = write_atomic(&paths.tls_fullchain(), pair.chain_pem().as_bytes(), 0o644)?;
    Ok(key_changed || chain_changed)
}

/// The installed pair, if both files are there and parse.
pub fn installed(paths: &Paths) -> Option<Pair> {
    let chain = std::fs::read(paths.tls_fullchain()).ok()?;
    let key = std::fs::read(paths.tls_privkey()).ok()?;
    Pair::from_pem(&chain, &key).ok()
}
