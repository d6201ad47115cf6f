//! schedule (every boot): renders the timers for scheduled shutdown, idle shutdown and the
//! maintenance window, removes those no longer configured, and has systemd (over D-Bus)
//! re-read units and start or stop the timers. The timers are started by this step at
//! each boot rather than enabled, so removing a key stops its timer for good.

use crate::fsutil::read_optional;
use crate::ops::units;
use crate::pipeline::{settings, ApplyHandle, Effect, Input, Outcome, Ran, Runs, Step, StepName};
use anyhow::Result;

/// The step's declaration: its name and when it runs.
pub const STEP: Step = Step {
    name: StepName::Schedule,
    runs: Runs::EveryBoot,
    renews: false,
};

const NOTHING: &str = "no scheduled or idle shutdown and no maintenance window configured";

/// Runs the schedule step.
pub async fn run(ctx: &Input<'_>, apply: &mut ApplyHandle) -> Result<Ran> {
    let settings = settings(ctx)?;
    let s = &settings.schedule;
    let u = &settings.updates;
    let wanted: Vec<(&'static str, Option<String>)> = vec![
        (
            units::SHUTDOWN_TIMER,
            (!s.shutdown.is_empty()).then(|| units::shutdown_timer(&s.shutdown)),
        ),
        (
            units::IDLE_TIMER,
            (s.idle_shutdown_minutes > 0).then(|| units::idle_timer(s.idle_shutdown_minutes)),
        ),
        (
            units::MAINTENANCE_TIMER,
            (!u.reboot_window.is_empty())
                .then(|| units::maintenance_timer(&u.reboot_window, u.reboot_window_minutes)),
        ),
    ];
    // Each timer file as installed, read once.
    let installed: Vec<Option<Vec<u8>>> = wanted
        .iter()
        .map(|(unit, _)| read_optional(&ctx.paths.join(&format!("{}/{unit}", units::DIR))))
        .collect::<Result<_>>()?;
    // systemd's parser is a process start (~7 ms): only for expressions not already in an
    // installed timer, which were checked when it was written.
    let new_text = wanted.iter().zip(&installed).any(|((_, text), old)| {
        text.as_ref()
            .is_some_and(|t| old.as_deref() != Some(t.as_bytes()))
    });
    if new_text {
        if let Err(e) = crate::config::check_calendars(&settings.calendars) {
            // The timers stay as they were; the rest of the server is unaffected.
            return Ok(Outcome::failed(format!("{e:#}; timers left unchanged")).into());
        }
    }
    let mut changed = false;
    let (mut active, mut stopped): (Vec<(&'static str, bool)>, Vec<&'static str>) =
        (Vec::new(), Vec::new());
    for ((unit, text), old) in wanted.iter().zip(&installed) {
        let path = ctx.paths.join(&format!("{}/{unit}", units::DIR));
        // Written or removed by a run killed before systemd took it: as if done now.
        let left = apply.refreshes.unit_pending(unit);
        match text {
            Some(text) => {
                let rewritten = apply.refreshes.write_unit(&path, text.as_bytes(), unit)?;
                // systemd (since v247) finds a new unit file by itself when asked to start
                // it; only a changed one needs a daemon-reload, which takes seconds on a
                // small VM.
                changed |= (rewritten && old.is_some()) || left;
                active.push((*unit, rewritten || left));
            }
            None if left && old.is_none() => stopped.push(*unit),
            None if old.is_some() => {
                apply.refreshes.mark_unit_pending(unit)?;
                std::fs::remove_file(&path)?;
                // Stopped below; a unit whose file is gone is dropped once stopped.
                stopped.push(*unit);
            }
            None => {}
        }
    }
    let mut described = Vec::new();
    if !s.shutdown.is_empty() {
        described.push(format!("shutdown at {}", s.shutdown.join(", ")));
    }
    if s.idle_shutdown_minutes > 0 {
        described.push(format!(
            "idle shutdown after {} min",
            s.idle_shutdown_minutes
        ));
    }
    if !u.reboot_window.is_empty() {
        let w = &u.reboot_window;
        described.push(format!(
            "reboots for updates only at {w} (+{} min)",
            u.reboot_window_minutes
        ));
    }
    let summary = format!(
        "{}; meetings postpone a shutdown by {} min steps up to {} min",
        described.join("; "),
        s.postpone_minutes,
        s.postpone_limit_minutes
    );
    if !changed && active.is_empty() && stopped.is_empty() {
        return Ok(Outcome::not_configured(NOTHING).into());
    }
    let outcome = if described.is_empty() {
        Outcome::not_configured(NOTHING)
    } else {
        Outcome::ok(summary)
    };
    // systemd's part (a daemon-reload takes seconds on a small VM) waits until the stack
    // has been started and READY sent: the runner arms the plan then, see `apply`.
    Ok(Ran::from(outcome).with(Effect::ArmTimers(TimerPlan {
        reload: changed,
        stop: stopped,
        start: active,
    })))
}

/// What the schedule step leaves to do with systemd once the stack is up.
#[derive(Debug, Clone, Default)]
pub struct TimerPlan {
    /// Whether existing unit files changed (daemon-reload first).
    reload: bool,
    /// Timers whose files were removed.
    stop: Vec<&'static str>,
    /// Timers to start, with whether their file was rewritten (then restart).
    start: Vec<(&'static str, bool)>,
}

/// Applies a plan: daemon-reload if needed, stop removed timers, (re)start the others.
/// Returns the problem, if any, for the schedule step's record.
pub async fn apply(
    plan: &TimerPlan,
    bus: &mut crate::apply::Bus,
    refreshes: &mut crate::apply::Refreshes,
) -> Result<(), String> {
    let systemd = bus
        .systemd()
        .await
        .map_err(|e| format!("timers written but not started: {e:#}"))?;
    let applied = async {
        if plan.reload {
            systemd.daemon_reload().await?;
        }
        for unit in &plan.stop {
            systemd.stop(unit).await?;
        }
        for (unit, rewritten) in &plan.start {
            // A running timer keeps its old schedule until restarted.
            if *rewritten {
                systemd.restart(unit).await?;
            } else {
                systemd.start(unit).await?;
            }
        }
        anyhow::Ok(())
    };
    // The files are in place either way; the next boot (or run) starts them.
    applied
        .await
        .map_err(|e| format!("timers written but not (all) started: {e:#}"))?;
    let units: Vec<&str> = plan
        .stop
        .iter()
        .copied()
        .chain(plan.start.iter().map(|(unit, _)| *unit))
        .collect();
    refreshes
        .units_done(&units)
        .map_err(|e| format!("timers started, but {e:#}"))
}
