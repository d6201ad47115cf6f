//! tune (every boot): kernel network buffers and backlog, the videobridge's and jicofo's
//! limits and heaps (from the machine's memory unless configured), and the capacity
//! estimate shown in status. Units are reloaded by systemd (daemon-reload) only when a
//! drop-in changed.

use crate::fsutil::write_atomic;
use crate::pipeline::{settings, ApplyHandle, Input, Outcome, Ran, Step, StepName};
use crate::tune::{capacity, files, heap};
use anyhow::Result;

/// The step's declaration: its name and when it runs.
pub const STEP: Step = Step::every_boot(StepName::Tune, |ctx, apply| {
    Box::pin(async move { run(ctx, apply).await.map(Ran::from) })
});

/// Where Debian's jitsi-videobridge2 package installs the bridge.
const VIDEOBRIDGE_HOME: &str = "/usr/share/jitsi-videobridge";

/// Runs the tune step.
async fn run(ctx: &Input<'_>, apply: &mut ApplyHandle) -> Result<Outcome> {
    let settings = settings(ctx)?;
    let tune = &settings.tune;
    if !tune.enabled {
        return Ok(Outcome::not_configured("tune.enabled is false"));
    }
    let mut problems = Vec::new();
    let heaps = heap::size(ctx.identity.memory_mib, tune);
    let bridge_installed = ctx.paths.join(VIDEOBRIDGE_HOME).is_dir();
    if bridge_installed {
        problems.extend(heaps.warnings.iter().cloned());
    }

    write_atomic(
        &ctx.paths.join(files::SYSCTL),
        files::render_sysctl(tune).as_bytes(),
        0o644,
    )?;
    let sysctl_note = apply_sysctls(ctx, tune);
    for (unit, variable, heap) in files::heaps_of(&heaps) {
        // Read by the unit at its start (the shipped drop-in's EnvironmentFile=).
        write_atomic(
            &ctx.paths.join(&files::env_path(unit)),
            files::render_env(variable, heap).as_bytes(),
            0o644,
        )?;
    }
    let mut limits_changed = false;
    let limits = files::render_limits(tune);
    for (unit, _) in files::UNITS {
        let path = ctx.paths.join(&files::limits_path(unit));
        match &limits {
            Some(text) => limits_changed |= write_atomic(&path, text.as_bytes(), 0o644)?,
            None if path.exists() => {
                std::fs::remove_file(&path)?;
                limits_changed = true;
            }
            None => {}
        }
    }
    if limits_changed {
        // Only other limits than the shipped ones need systemd to re-read the units; without
        // a bus (a chroot, a test) the next boot reads them anyway.
        if let Ok(systemd) = apply.bus.systemd().await {
            if let Err(e) = systemd.daemon_reload().await {
                problems.push(format!("limits written but systemd not reloaded: {e:#}"));
            }
        }
    }

    let bandwidth = match tune.bandwidth_mbit {
        0 => capacity::link_speed_mbit(ctx.paths),
        set => Some(set),
    };
    let estimate = capacity::estimate(
        ctx.identity.cpus,
        bandwidth,
        tune.participants_per_cpu,
        tune.meeting_size,
    );
    let mut message = format!(
        "{}; heap videobridge {} MiB, jicofo {} MiB",
        estimate.summary(),
        heaps.videobridge_mib,
        heaps.jicofo_mib
    );
    if let Some(note) = sysctl_note {
        message.push_str(&format!("; {note}"));
    }
    if !bridge_installed {
        message.push_str(" (the videobridge is not installed; sized for when it is)");
    }
    Ok(if problems.is_empty() {
        Outcome::ok(message)
    } else {
        Outcome::degraded(format!("{}; {message}", problems.join("; ")))
    })
}

/// Applies the sysctl values now (systemd-sysctl has run before us at this boot); values
/// already higher are left alone. In a container these settings belong to the host and are
/// read-only: that is said, not counted as a fault of this server.
fn apply_sysctls(ctx: &Input<'_>, tune: &crate::tune::settings::Tune) -> Option<String> {
    let mut refused = Vec::new();
    for (name, value) in files::sysctls(tune) {
        let path = ctx
            .paths
            .join(&format!("/proc/sys/{}", name.replace('.', "/")));
        let current = std::fs::read_to_string(&path)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok());
        if current.is_some_and(|c| c >= u64::from(value)) {
            continue;
        }
        match std::fs::write(&path, value.to_string()) {
            Ok(()) => {}
            // No /proc below the root (a fixture tree or a chroot): the drop-in applies at
            // the next boot.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Some(format!("{} applies at the next boot", files::SYSCTL))
            }
            Err(e) => refused.push(format!("{name} ({e})")),
        }
    }
    (!refused.is_empty()).then(|| {
        format!(
            "kernel settings not applied here: {}; in a container set them on the host",
            refused.join(", ")
        )
    })
}
