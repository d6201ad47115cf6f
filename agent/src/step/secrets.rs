//! secrets (once per instance): the Jitsi stack's passwords and shared secrets, a
//! machine-id when the image left it empty, and SSH host keys when none exist yet. Nothing
//! here is ever printed; the outcome names what was made, never a value.

use super::{Context, Outcome};
use crate::fsutil::write_atomic;
use crate::jitsi::secrets::Secrets;
use anyhow::{Context as _, Result};

/// Runs the secrets step.
pub fn run(ctx: &mut Context<'_>) -> Result<Outcome> {
    let (_, made) = Secrets::for_instance(ctx.paths, ctx.instance_id.as_deref())?;
    let mut parts = vec![if made {
        "made new secrets for this instance (jicofo and videobridge XMPP passwords, TURN secret, JWT secret)".to_string()
    } else {
        "this instance's secrets are in place".to_string()
    }];
    parts.push(machine_id(ctx)?);
    parts.push(ssh_host_keys(ctx)?);
    Ok(Outcome::ok(parts.join("; ")))
}

/// systemd makes a machine-id when /etc/machine-id is empty at boot; should the image
/// have shipped it empty and nothing made one (a container runtime, a chroot), make one.
fn machine_id(ctx: &Context<'_>) -> Result<String> {
    let path = ctx.paths.machine_id();
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    let current = current.trim();
    if !current.is_empty() && current != "uninitialized" {
        return Ok("machine-id present".into());
    }
    let mut bytes = [0u8; 16];
    rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("the system's random number generator failed"))?;
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_atomic(&path, format!("{id}\n").as_bytes(), 0o444)?;
    Ok("machine-id made".into())
}

/// sshd's unit makes its keys at first start (the image's drop-in); this covers machines
/// where sshd has not started yet when something wants the fingerprints.
fn ssh_host_keys(ctx: &Context<'_>) -> Result<String> {
    let dir = ctx.paths.join("/etc/ssh");
    if !dir.join("sshd_config").exists() {
        return Ok("no SSH server installed".into());
    }
    let count = || {
        std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        name.starts_with("ssh_host_") && name.ends_with("_key")
                    })
                    .count()
            })
            .unwrap_or(0)
    };
    if count() > 0 {
        return Ok(format!("SSH host keys present ({})", count()));
    }
    let root = ctx.paths.join("/");
    let status = std::process::Command::new("ssh-keygen")
        .arg("-A")
        .arg("-f")
        .arg(&root)
        .stdout(std::process::Stdio::null())
        .status()
        .context("cannot run ssh-keygen to make SSH host keys")?;
    if !status.success() {
        anyhow::bail!("ssh-keygen -A failed ({status}); sshd has no host keys");
    }
    Ok(format!("SSH host keys made ({})", count()))
}
