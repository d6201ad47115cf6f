//! access (every boot): writes the SSH keys of `[access] ssh_authorized_keys` to the agent's
//! own authorized keys file for root, which the image's sshd drop-in names beside root's
//! `~/.ssh/authorized_keys` (cloud-init's and the operator's, never touched here). sshd
//! reads key files at each login, so nothing is reloaded.

use super::{settings, Context, Outcome};
use crate::access::{render_authorized_keys, AUTHORIZED_KEYS};
use crate::fsutil::write_atomic;
use anyhow::{Context as _, Result};
use base64::Engine;

/// The image's sshd drop-in: key logins only, and the agent's key file.
const SSHD_DROP_IN: &str = "/etc/ssh/sshd_config.d/50-ryo-jitsi.conf";

/// Runs the access step.
pub fn run(ctx: &mut Context<'_>) -> Result<Outcome> {
    let keys = &settings(ctx)?.ssh_authorized_keys;
    let path = ctx.paths.join(AUTHORIZED_KEYS);
    if keys.is_empty() {
        if path.exists() {
            std::fs::remove_file(&path)
                .with_context(|| format!("failed to remove {}", path.display()))?;
            return Ok(Outcome::not_configured(format!(
                "no access.ssh_authorized_keys: {AUTHORIZED_KEYS} removed; root logs in with the keys in /root/.ssh/authorized_keys, if any"
            )));
        }
        return Ok(Outcome::not_configured(
            "no access.ssh_authorized_keys: root logs in over SSH only with keys in /root/.ssh/authorized_keys (cloud-init's), else on the console",
        ));
    }
    write_atomic(&path, render_authorized_keys(keys).as_bytes(), 0o644)?;
    let prints: Vec<String> = keys.iter().map(|k| fingerprint(k)).collect();
    let message = format!(
        "{} SSH key{} may log in as root: {}",
        keys.len(),
        if keys.len() == 1 { "" } else { "s" },
        prints.join(", ")
    );
    if !ctx.paths.join(SSHD_DROP_IN).exists() {
        return Ok(Outcome::degraded(format!(
            "{message}; but sshd does not read {AUTHORIZED_KEYS}: {SSHD_DROP_IN} is missing from this image"
        )));
    }
    Ok(Outcome::ok(message))
}

/// The key's fingerprint as `ssh-keygen -l` prints it (`SHA256:` and unpadded base64 of
/// the key blob's digest), with its comment.
fn fingerprint(line: &str) -> String {
    let mut fields = line.split_ascii_whitespace();
    let _kind = fields.next();
    let blob = fields
        .next()
        .and_then(crate::encoding::base64_decode)
        .unwrap_or_default();
    let digest = ring::digest::digest(&ring::digest::SHA256, &blob);
    let print = format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest.as_ref())
    );
    let comment: Vec<&str> = fields.collect();
    if comment.is_empty() {
        print
    } else {
        format!("{print} ({})", comment.join(" "))
    }
}
