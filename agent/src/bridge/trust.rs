//! A videobridge trusts the signaling node's XMPP certificate (the join token's) in the
//! system store, so that jitsi-videobridge2 verifies prosody's certificate for
//! auth.DOMAIN: Debian's `update-ca-certificates` adds it to /etc/ssl/certs, and its
//! ca-certificates-java hook (installed with the JRE) to Java's cacerts, which the bridge
//! reads.

use crate::bridge::token::Token;
use crate::fsutil::{read_optional, write_atomic};
use crate::paths::Paths;
use anyhow::{bail, Context, Result};

/// Where the token's certificate goes (update-ca-certificates reads `*.crt` there).
pub const ANCHOR: &str = "/usr/local/share/ca-certificates/ryo-jitsi-signaling.crt";

/// Installs the token's certificate as a trust anchor; `Some(message)` when it changed.
/// Below a `--root` other than `/` the stores are not rebuilt (the host's would be), and
/// the message says so. `before_write` runs before anything changes (it records the
/// bridge's pending restart).
pub fn install(
    paths: &Paths,
    token: &Token,
    before_write: impl FnOnce() -> Result<()>,
) -> Result<Option<String>> {
    let path = paths.join(ANCHOR);
    let pem = token.certificate_pem().as_bytes();
    if read_optional(&path)?.as_deref() == Some(pem) {
        return Ok(None);
    }
    before_write()?;
    write_atomic(&path, pem, 0o644)?;
    if paths.root() != std::path::Path::new("/") {
        return Ok(Some(format!(
            "the signaling node's certificate written to {ANCHOR} (stores not rebuilt below --root)"
        )));
    }
    let out = std::process::Command::new("update-ca-certificates")
        .output()
        .context("failed to run update-ca-certificates (apt-get install ca-certificates)")?;
    if !out.status.success() {
        bail!(
            "update-ca-certificates failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(Some(format!(
        "the signaling node's certificate (token {}) trusted in the system and Java stores",
        token.fingerprint()
    )))
}
