//! access (every boot): writes the SSH keys of `[access] ssh_authorized_keys` to the agent's
//! own authorized keys file for root, which the image's sshd drop-in names beside root's
//! `~/.ssh/authorized_keys` (cloud-init's and the operator's, never touched here). sshd
//! reads key files at each login, so nothing is reloaded.
//!
//! The instance's key pair (EC2's `public-keys/0/openssh-key`) is added too, but only on an
//! image without cloud-init: where cloud-init is installed it gives that key to the image's
//! default user, and a second way in that nobody asked for would be a surprise.

use crate::access::{check_key, key_identity, render_authorized_keys, AUTHORIZED_KEYS};
use crate::fsutil::write_atomic;
use crate::pipeline::{settings, Input, Outcome, Ran, Step, StepName};
use crate::source::user_data::CLOUD_INIT;
use anyhow::{Context as _, Result};
use base64::Engine;

/// The step's declaration: its name and when it runs.
pub const STEP: Step = Step::every_boot(StepName::Access, |ctx, _| {
    Box::pin(async move { run(ctx).map(Ran::from) })
});

/// The image's sshd drop-in: key logins only, and the agent's key file.
const SSHD_DROP_IN: &str = "/etc/ssh/sshd_config.d/50-ryo-jitsi.conf";

/// Runs the access step.
fn run(ctx: &Input<'_>) -> Result<Outcome> {
    let configured = &settings(ctx)?.ssh_authorized_keys;
    let keys = &configured.keys;
    let path = ctx.paths.join(AUTHORIZED_KEYS);
    let pair = key_pair(ctx, keys);
    let (key_pair, note) = match &pair {
        KeyPair::Add { key, .. } => (Some(key.as_str()), None),
        KeyPair::None => (None, None),
        KeyPair::Skipped(note) | KeyPair::Refused(note) => (None, Some(note.as_str())),
    };
    let with_note = |message: String| match note {
        Some(note) => format!("{message}; {note}"),
        None => message,
    };
    let refused = matches!(pair, KeyPair::Refused(_));
    if keys.is_empty() && key_pair.is_none() {
        let message = if path.exists() {
            std::fs::remove_file(&path)
                .with_context(|| format!("failed to remove {}", path.display()))?;
            format!(
                "no access.ssh_authorized_keys: {AUTHORIZED_KEYS} removed; root logs in with the keys in /root/.ssh/authorized_keys, if any"
            )
        } else {
            "no access.ssh_authorized_keys: root logs in over SSH only with keys in /root/.ssh/authorized_keys (cloud-init's), else on the console".to_string()
        };
        return Ok(if refused {
            Outcome::degraded(with_note(message))
        } else {
            Outcome::not_configured(with_note(message))
        });
    }
    let mut text = render_authorized_keys(keys);
    let mut prints: Vec<String> = keys.iter().map(|k| fingerprint(k, None)).collect();
    if let KeyPair::Add { key, from } = &pair {
        text.push_str(&format!(
            "# {from}, added because this image has no cloud-init to install it.\n{key}\n"
        ));
        prints.push(fingerprint(key, Some(from)));
    }
    write_atomic(&path, text.as_bytes(), 0o644)?;
    let dropped = match configured.duplicates {
        0 => String::new(),
        1 => " (1 repeated entry of access.ssh_authorized_keys dropped)".to_string(),
        n => format!(" ({n} repeated entries of access.ssh_authorized_keys dropped)"),
    };
    let message = with_note(format!(
        "{} SSH key{} may log in as root{dropped}: {}",
        prints.len(),
        if prints.len() == 1 { "" } else { "s" },
        prints.join(", ")
    ));
    if !ctx.paths.join(SSHD_DROP_IN).exists() {
        return Ok(Outcome::degraded(format!(
            "{message}; but sshd does not read {AUTHORIZED_KEYS}: {SSHD_DROP_IN} is missing from this image"
        )));
    }
    Ok(if refused {
        Outcome::degraded(message)
    } else {
        Outcome::ok(message)
    })
}

/// What becomes of the instance's key pair.
enum KeyPair {
    /// The instance has none.
    None,
    /// Added to root's logins; `from` names it (`the EC2 key pair`).
    Add { key: String, from: String },
    /// Left alone (cloud-init's business, or already configured); the sentence says why.
    Skipped(String),
    /// Not a public key line; the sentence says why and what to do.
    Refused(String),
}

/// Decides about the instance's key pair, if the instance source reported one.
fn key_pair(ctx: &Input<'_>, configured: &[String]) -> KeyPair {
    let instance = &ctx.identity.instance;
    let Some(line) = &instance.key_pair else {
        return KeyPair::None;
    };
    let from = format!("the {} key pair", instance.provider.to_uppercase());
    if ctx.paths.join(CLOUD_INIT).exists() {
        return KeyPair::Skipped(format!(
            "{from} is left to cloud-init, which gives it to the image's default user"
        ));
    }
    match check_key(line) {
        // The same key under another comment is the same key.
        Ok(key)
            if configured
                .iter()
                .any(|k| key_identity(k).is_some() && key_identity(k) == key_identity(&key)) =>
        {
            KeyPair::Skipped(format!("{from} is among access.ssh_authorized_keys"))
        }
        Ok(key) => KeyPair::Add { key, from },
        Err(reason) => KeyPair::Refused(format!(
            "{from} from the instance metadata {reason}, so it was not added; launch the instance with another key pair or set access.ssh_authorized_keys"
        )),
    }
}

/// The key's fingerprint as `ssh-keygen -l` prints it (`SHA256:` and unpadded base64 of
/// the key blob's digest), with its comment and, for the instance's key pair, where it came
/// from.
fn fingerprint(line: &str, from: Option<&str>) -> String {
    let mut fields = line.split([' ', '\t']).filter(|f| !f.is_empty());
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
    let mut notes: Vec<String> = Vec::new();
    let comment: Vec<&str> = fields.collect();
    if !comment.is_empty() {
        notes.push(comment.join(" "));
    }
    if let Some(from) = from {
        notes.push(format!("from {from}"));
    }
    if notes.is_empty() {
        print
    } else {
        format!("{print} ({})", notes.join(", "))
    }
}
