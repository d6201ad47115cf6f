//! The web certificate: decoding supplied material, checking it, installing it, and the
//! self-signed fallback that keeps the server reachable when nothing better is available.

pub mod acme;
pub mod acme_http;
pub mod challenge;
pub mod inspect;
pub mod material;
pub mod schedule;
pub mod selfsigned;
pub mod store;
pub mod time_limit;
pub mod verify;

pub use inspect::CertSummary;
pub use material::{KeyPem, Pair};
pub use store::KEY_GROUP;

use crate::paths::Paths;
use crate::plan::certificate::Origin;
use anyhow::Result;

/// Installs `pair`, recorded as coming from `origin`, at the stable paths as one unit (see
/// [`store`]): the key 0640 root:ssl-cert (0600 where that group does not exist), the chain
/// 0644. Returns whether the certificate or key changed.
pub fn install_from(paths: &Paths, pair: &Pair, origin: &Origin) -> Result<bool> {
    store::install(paths, pair, origin)
}

/// The installed pair, if both files are there and parse.
pub fn installed(paths: &Paths) -> Option<Pair> {
    store::read(paths).map(|(pair, _)| pair)
}
