//! secrets (once per instance): the Jitsi stack's passwords and shared secrets, and a
//! machine-id when the image left it empty; SSH host keys are sshd's own first-start job.
//! Nothing here is ever printed; the outcome names what was made, never a value.

use crate::jitsi::secrets::Secrets;
use crate::pipeline::{Effect, Input, Outcome, Ran, Step, StepName};
use anyhow::Result;

/// The step's declaration: its name and when it runs.
pub const STEP: Step = Step::once_per_instance(StepName::Secrets, |ctx, _| {
    Box::pin(async move { run(ctx) })
});

/// Runs the secrets step.
fn run(ctx: &Input<'_>) -> Result<Ran> {
    let (secrets, made) = Secrets::for_instance(ctx.paths, ctx.instance_id.as_deref())?;
    let mut parts = vec![if made {
        "made new secrets for this instance (jicofo and videobridge XMPP passwords, TURN secret, JWT secret)".to_string()
    } else {
        "this instance's secrets are in place".to_string()
    }];
    parts.push(machine_id(ctx)?);
    parts.push(ssh_host_keys(ctx)?);
    // The jitsi step renders with these rather than read back the file just written.
    Ok(Ran::from(Outcome::ok(parts.join("; "))).with(Effect::SecretsInPlace(secrets)))
}

/// systemd makes a machine-id when /etc/machine-id is empty at boot; should the image
/// have shipped it empty and nothing made one (a container runtime, a chroot), make one
/// ([`crate::instance::machine_id`], the one reader of it).
fn machine_id(ctx: &Input<'_>) -> Result<String> {
    let (_, made) = crate::instance::machine_id(&ctx.paths.machine_id())?;
    Ok(if made {
        "machine-id made"
    } else {
        "machine-id present"
    }
    .into())
}

/// SSH host keys are made by sshd's unit at its first start (the image's drop-in runs
/// `ssh-keygen -A` there), alongside this run: making a 3072-bit RSA key here instead
/// took seconds of first boot on a small VM. This only reports what is there.
fn ssh_host_keys(ctx: &Input<'_>) -> Result<String> {
    let dir = ctx.paths.join("/etc/ssh");
    if !dir.join("sshd_config").exists() {
        return Ok("no SSH server installed".into());
    }
    let count = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.starts_with("ssh_host_") && name.ends_with("_key")
                })
                .count()
        })
        .unwrap_or(0);
    Ok(if count > 0 {
        format!("SSH host keys present ({count})")
    } else {
        "SSH host keys: sshd makes them at its first start".into()
    })
}
