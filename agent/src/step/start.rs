//! start (every boot): start the stack's installed services and reload the ones that read
//! the certificate when it changed, through systemd's D-Bus API.

use super::{Context, Outcome};
use crate::systemd::{Systemd, STACK_UNITS, TLS_CONSUMERS};
use anyhow::Result;

/// Runs the start step.
pub async fn run(ctx: &mut Context<'_>) -> Result<Outcome> {
    let systemd = match Systemd::connect().await {
        Ok(s) => s,
        Err(e) => {
            return Ok(Outcome::degraded(format!(
                "{e:#}: the stack's services were neither started nor reloaded"
            )))
        }
    };
    let (mut started, mut reloaded, mut missing, mut running) = (vec![], vec![], vec![], vec![]);
    for unit in STACK_UNITS {
        let status = systemd.unit_status(unit).await?;
        let short = unit.trim_end_matches(".service");
        if !status.installed() {
            missing.push(short);
        } else if status.active_state == "active" || status.active_state == "reloading" {
            if ctx.tls_changed && TLS_CONSUMERS.contains(&unit) {
                systemd.reload(unit).await?;
                reloaded.push(short);
            } else {
                running.push(short);
            }
        } else {
            // Inactive or failed: queue a start. At boot we are ordered before these units,
            // so the job runs once we report READY.
            systemd.start(unit).await?;
            started.push(short);
        }
    }
    let list = |v: &[&str]| if v.is_empty() { "none".to_string() } else { v.join(", ") };
    let mut message = format!(
        "started {}; reloaded {}; already running {}",
        list(&started),
        list(&reloaded),
        list(&running)
    );
    if !missing.is_empty() {
        message.push_str(&format!("; not installed: {}", missing.join(", ")));
    }
    Ok(Outcome::ok(message))
}
