//! start (every boot): start the stack's installed services that are not running, through
//! systemd's D-Bus API. (Reloads after a certificate change belong to the tls step.)

use super::{Context, Outcome};
use crate::systemd::{Systemd, STACK_UNITS};
use anyhow::Result;

/// Services that take a new configuration on reload (the firewall's reload replaces its
/// rules in one transaction; a restart would leave a moment without them).
const RELOADABLE: [&str; 4] = [
    "nginx.service",
    "prosody.service",
    "coturn.service",
    crate::firewall::UNIT,
];

/// Runs the start step.
pub async fn run(ctx: &mut Context<'_>) -> Result<Outcome> {
    let systemd = match Systemd::connect().await {
        Ok(s) => s,
        Err(e) => {
            return Ok(Outcome::degraded(format!(
                "{e:#}: the stack's services were not started"
            )))
        }
    };
    let (mut started, mut missing, mut running) = (vec![], vec![], vec![]);
    let mut refreshed = vec![];
    for unit in STACK_UNITS {
        let status = systemd.unit_status(unit).await?;
        let short = unit.trim_end_matches(".service");
        if !status.installed() {
            missing.push(short);
        } else if matches!(
            status.active_state.as_str(),
            "active" | "reloading" | "activating"
        ) {
            running.push(short);
            if ctx.config_changed.contains(&unit) {
                // nginx, prosody and coturn re-read their files on reload and keep their
                // connections; jicofo and the bridge read theirs only at start.
                if RELOADABLE.contains(&unit) {
                    systemd.reload(unit).await?;
                } else {
                    systemd.restart(unit).await?;
                }
                refreshed.push(short);
            }
        } else {
            // Inactive or failed: queue a start. At boot we are ordered before these units,
            // so the job runs once we report READY.
            systemd.start(unit).await?;
            started.push(short);
        }
    }
    let list = |v: &[&str]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    let mut message = format!(
        "started {}; already running {}",
        list(&started),
        list(&running)
    );
    if !refreshed.is_empty() {
        message.push_str(&format!(
            "; reloaded or restarted for new configuration: {}",
            refreshed.join(", ")
        ));
    }
    if !missing.is_empty() {
        message.push_str(&format!("; not installed: {}", missing.join(", ")));
    }
    Ok(Outcome::ok(message))
}
