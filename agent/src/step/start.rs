//! start (every boot): start the stack's installed services that are not running, through
//! systemd's D-Bus API. (Reloads after a certificate change belong to the tls step.)

use super::{Context, Outcome};
use crate::systemd::{Systemd, STACK_UNITS};
use anyhow::Result;

/// Runs the start step.
pub async fn run(_ctx: &mut Context<'_>) -> Result<Outcome> {
    let systemd = match Systemd::connect().await {
        Ok(s) => s,
        Err(e) => {
            return Ok(Outcome::degraded(format!(
                "{e:#}: the stack's services were not started"
            )))
        }
    };
    let (mut started, mut missing, mut running) = (vec![], vec![], vec![]);
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
    if !missing.is_empty() {
        message.push_str(&format!("; not installed: {}", missing.join(", ")));
    }
    Ok(Outcome::ok(message))
}
