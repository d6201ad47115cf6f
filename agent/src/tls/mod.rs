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

use crate::fsutil::{write_atomic, write_atomic_for_group};
use crate::paths::Paths;
use anyhow::Result;

/// The group that may read the installed key (Debian's convention for TLS keys).
pub const KEY_GROUP: &str = "ssl-cert";

/// Installs `pair` at the stable paths (key first: 0640 root:ssl-cert, or 0600 where that
/// group does not exist; then the chain, 0644), each atomically.
/// Returns whether either file changed.
pub fn install(paths: &Paths, pair: &Pair) -> Result<bool> {
    // prosody and coturn run as their own users and read the key through Debian's
    // ssl-cert group (the image adds them to it); without that group it stays root's.
    let key_changed = write_atomic_for_group(
        &paths.tls_privkey(),
        pair.key.pem().as_bytes(),
        0o640,
        KEY_GROUP,
    )?;
    let chain_changed = write_atomic(&paths.tls_fullchain(), pair.chain_pem().as_bytes(), 0o644)?;
    Ok(key_changed || chain_changed)
}

/// The installed pair, if both files are there and parse.
pub fn installed(paths: &Paths) -> Option<Pair> {
    let chain = std::fs::read(paths.tls_fullchain()).ok()?;
    let key = std::fs::read(paths.tls_privkey()).ok()?;
    Pair::from_pem(&chain, &key).ok()
}
