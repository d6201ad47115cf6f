//! A videobridge trusts the signaling node's XMPP certificate (the join token's) in the
//! system store, so that jitsi-videobridge2 verifies prosody's certificate for
//! auth.DOMAIN: Debian's `update-ca-certificates` adds it to /etc/ssl/certs, and its
//! ca-certificates-java hook (installed with the JRE) to Java's cacerts, which the bridge
//! reads. A node whose own jigasi logs in over loopback (`sip.local`) trusts its own
//! auth.DOMAIN certificate the same way, as jitsi/jitsi-meet's
//! `debian/jitsi-meet-prosody.postinst` does for the certificate it makes for auth.DOMAIN
//! (a link in /usr/local/share/ca-certificates, then `update-ca-certificates -f`): jigasi
//! checks the certificate against its account's domain in the JVM's default store
//! (jitsi/jitsi CertificateServiceImpl), and upstream's alternative, always-trust mode, would
//! also switch off the checks of a TLS connection to the SIP provider.
//!
//! The file is named after the certificate's digest: update-ca-certificates tells its
//! hooks only about certificates whose link is new or gone, so a new certificate under the
//! old name would stay out of Java's store. A token with another certificate therefore
//! removes the old file and adds a new one.

use crate::fsutil::{read_optional, write_atomic};
use crate::paths::Paths;
use anyhow::{bail, Context, Result};

/// The folder update-ca-certificates reads local anchors (`*.crt`) from.
pub const ANCHORS: &str = "/usr/local/share/ca-certificates";
/// The anchors' name prefix.
pub const PREFIX: &str = "ryo-jitsi-signaling-";

/// The anchor's path for the certificate `pem` (a join token's, or this node's own for
/// auth.DOMAIN).
pub fn anchor(pem: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, pem.as_bytes());
    let hex = crate::encoding::hex(&digest.as_ref()[..8]);
    format!("{ANCHORS}/{PREFIX}{hex}.crt")
}

/// Installs the certificate `pem` as this machine's one trust anchor of ours (replacing any
/// other); `Some(message)` when it changed. Below a `--root` other than `/` the stores are
/// not rebuilt (the host's would be), and the message says so. `before_write` runs before
/// anything changes (it records the pending restart of the Java services that read the
/// store). When the stores cannot be rebuilt the anchor is removed again, so the next run
/// tries once more.
pub fn install(
    paths: &Paths,
    pem: &str,
    before_write: impl FnOnce() -> Result<()>,
) -> Result<Option<String>> {
    let wanted = anchor(pem);
    let path = paths.join(&wanted);
    let pem = pem.as_bytes();
    let others = other_anchors(paths, &wanted)?;
    // In place only once the stores hold it: a run killed between writing the file and
    // the rebuild leaves the file without its /etc/ssl/certs link, and the next run
    // rebuilds (below a --root the stores are never rebuilt).
    let below_root = below_root(paths);
    if others.is_empty()
        && read_optional(&path)?.as_deref() == Some(pem)
        && (below_root || in_system_store(&wanted))
    {
        return Ok(None);
    }
    before_write()?;
    remove(&others)?;
    write_atomic(&path, pem, 0o644)?;
    if below_root {
        return Ok(Some(format!(
            "written to {wanted} (stores not rebuilt below --root)"
        )));
    }
    if let Err(e) = rebuild() {
        // Not left behind as if trusted: the next run sees it missing and tries again.
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    Ok(Some("trusted in the system and Java stores".into()))
}

/// Whether `paths` is a test root below which the host's stores must not be rebuilt.
fn below_root(paths: &Paths) -> bool {
    paths.root() != std::path::Path::new("/")
}

/// Removes the anchor files `anchors`.
fn remove(anchors: &[std::path::PathBuf]) -> Result<()> {
    for old in anchors {
        std::fs::remove_file(old)
            .with_context(|| format!("failed to remove the anchor {}", old.display()))?;
    }
    Ok(())
}

/// Rebuilds the system store and, through ca-certificates-java's hook, Java's.
fn rebuild() -> Result<()> {
    let out = std::process::Command::new("update-ca-certificates")
        .output()
        .context("failed to run update-ca-certificates (apt-get install ca-certificates)")?;
    if !out.status.success() {
        bail!(
            "update-ca-certificates failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Whether update-ca-certificates linked the anchor `wanted` into /etc/ssl/certs (it makes
/// `NAME.pem` for each local `NAME.crt`).
fn in_system_store(wanted: &str) -> bool {
    let name = std::path::Path::new(wanted)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    std::fs::symlink_metadata(format!("/etc/ssl/certs/{name}.pem")).is_ok()
}

/// Removes every anchor of ours (this node no longer verifies prosody with one: `sip.local`
/// turned off on a node that does not join); `Some(message)` when there was one. A stale
/// anchor would keep a certificate whose key prosody can read trusted by every JVM here.
pub fn remove_all(
    paths: &Paths,
    before_write: impl FnOnce() -> Result<()>,
) -> Result<Option<String>> {
    let ours = other_anchors(paths, "")?;
    if ours.is_empty() {
        return Ok(None);
    }
    before_write()?;
    remove(&ours)?;
    if below_root(paths) {
        return Ok(Some(
            "no longer trusted (stores not rebuilt below --root)".into(),
        ));
    }
    rebuild()?;
    Ok(Some(
        "no longer trusted in the system and Java stores".into(),
    ))
}

/// Our anchors other than `wanted` (an earlier token's).
fn other_anchors(paths: &Paths, wanted: &str) -> Result<Vec<std::path::PathBuf>> {
    let dir = paths.join(ANCHORS);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("failed to list {}", dir.display())),
    };
    let keep = paths.join(wanted);
    Ok(entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(".crt"))
                && *p != keep
        })
        .collect())
}
