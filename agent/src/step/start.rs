//! start (every boot): start the stack's installed services that are not running, and
//! reload or restart, once each, the running ones whose configuration this run or an
//! earlier, interrupted one changed, through systemd's D-Bus API.

use super::{Context, Outcome};
use crate::apply::{self, Service};
use anyhow::Result;

/// Runs the start step.
pub async fn run(ctx: &mut Context<'_>) -> Result<Outcome> {
    let systemd = match ctx.bus.systemd().await {
        Ok(s) => s,
        Err(e) => {
            return Ok(Outcome::degraded(format!(
                "{e:#}: the stack's services were not started"
            )))
        }
    };
    let report = apply::bring_up(&mut ctx.refreshes, systemd, true).await?;
    let list = |v: &[Service]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.iter().map(|s| s.short()).collect::<Vec<_>>().join(", ")
        }
    };
    let mut message = format!(
        "started {}; already running {}",
        list(&report.started),
        list(&report.running)
    );
    if !report.refreshed.is_empty() {
        message.push_str(&format!(
            "; reloaded or restarted for new configuration: {}",
            list(&report.refreshed)
        ));
    }
    if !report.missing.is_empty() {
        message.push_str(&format!("; not installed: {}", list(&report.missing)));
    }
    Ok(Outcome::ok(message))
}
