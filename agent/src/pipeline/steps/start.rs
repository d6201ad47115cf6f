//! start (every boot): start the stack's installed services that are not running, and
//! reload or restart, once each, the running ones whose configuration this run or an
//! earlier, interrupted one changed, through systemd's D-Bus API.

use crate::apply::{self, Service};
use crate::pipeline::{ApplyHandle, Input, Outcome, Ran, Step, StepName};
use anyhow::Result;

/// The step's declaration: its name and when it runs.
pub const STEP: Step = Step::every_boot(StepName::Start, |ctx, apply| {
    Box::pin(async move { run(ctx, apply).await.map(Ran::from) })
})
.bringing_up();

/// The unit that publishes a bridge's stress level and drains it on scale-in.
pub const SCALE_UNIT: &str = "meet-agent-scale.service";

/// Runs the start step.
async fn run(ctx: &Input<'_>, apply: &mut ApplyHandle) -> Result<Outcome> {
    let wanted = wanted(ctx);
    let systemd = match apply.bus.systemd().await {
        Ok(s) => s,
        Err(e) => {
            return Ok(Outcome::degraded(format!(
                "{e:#}: the stack's services were not started"
            )))
        }
    };
    let report = apply::bring_up_role(&mut apply.refreshes, systemd, true, &wanted).await?;
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
    if let Some(settings) = ctx.settings {
        match crate::scale::service::not_wanted(&settings.roles) {
            // The metric and the drain run as their own service until power-off.
            None => match systemd.start(SCALE_UNIT).await {
                Ok(()) => message.push_str(&format!(
                    "; {SCALE_UNIT} started (scaling metric and scale-in drain)"
                )),
                Err(e) => {
                    return Ok(Outcome::degraded(format!(
                        "{message}; {SCALE_UNIT} not started: {e:#}"
                    )))
                }
            },
            // Started by an earlier run whose role or hook is gone: left running it would
            // publish for a group this machine has left, or drain and power it off.
            Some(why) => match systemd.unit_status(SCALE_UNIT).await {
                Ok(unit)
                    if unit.installed()
                        && matches!(
                            unit.active_state.as_str(),
                            "active" | "activating" | "reloading"
                        ) =>
                {
                    match systemd.stop(SCALE_UNIT).await {
                        Ok(()) => message.push_str(&format!("; {SCALE_UNIT} stopped: {why}")),
                        Err(e) => {
                            return Ok(Outcome::degraded(format!(
                                "{message}; {SCALE_UNIT} not stopped ({why}): {e:#}"
                            )))
                        }
                    }
                }
                Ok(_) => {}
                // Nothing of this machine's own role depends on it.
                Err(e) => tracing::warn!("cannot tell whether {SCALE_UNIT} runs: {e:#}"),
            },
        }
    }
    if !report.stopped.is_empty() {
        message.push_str(&format!(
            "; not run by this role: {}",
            list(&report.stopped)
        ));
    }
    Ok(Outcome::ok(message))
}

/// The services this machine's role runs: a videobridge only the bridge, a recorder only
/// jibri (and both the host firewall); a signaling node everything but the bridge unless
/// `bridges.local`; jibri beside the site only with `recording.local` on a machine big
/// enough for it; jigasi only with `sip.local` and an account.
fn wanted(ctx: &Input<'_>) -> Vec<Service> {
    use crate::vocab::Role;
    let Some(settings) = ctx.settings else {
        return Service::ALL.to_vec();
    };
    let roles = &settings.roles;
    let local_jibri = settings.recording.local
        && ctx.identity.cpus >= crate::recording::settings::RECORDER_MIN_CPUS;
    Service::ALL
        .into_iter()
        .filter(|s| match (roles.role, s) {
            (_, Service::Firewall) => true,
            (Role::Videobridge, s) => *s == Service::Videobridge,
            (Role::Recorder, s) => *s == Service::Jibri,
            (Role::Sip, s) => *s == Service::Jigasi,
            (_, Service::Videobridge) => roles.local_bridge,
            (_, Service::Jibri) => local_jibri,
            (_, Service::Jigasi) => settings.sip.runs_here(),
            _ => true,
        })
        .collect()
}
