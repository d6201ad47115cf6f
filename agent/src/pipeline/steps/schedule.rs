//! schedule (every boot): renders the timers for scheduled shutdown, idle shutdown and the
//! maintenance window, removes those no longer configured, and has systemd (over D-Bus)
//! re-read units and start or stop the timers. The timers are started by this step at
//! each boot rather than enabled, so removing a key stops its timer for good.

use crate::config::Settings;
use crate::fsutil::read_optional;
use crate::ops::units;
use crate::pipeline::{
    settings, ApplyHandle, Effect, Input, Later, Outcome, Ran, Step, StepFuture, StepName, When,
};
use crate::state::{StepRecord, StepState};
use anyhow::Result;

/// The step's declaration: its name and when it runs.
pub const STEP: Step = Step::every_boot(StepName::Schedule, |ctx, apply| Box::pin(run(ctx, apply)));

const NOTHING: &str = "no scheduled or idle shutdown and no maintenance window configured";

/// Each timer the settings want, with its unit file's text, `None` for no such timer.
fn wanted(settings: &Settings) -> Vec<(&'static str, Option<String>)> {
    let s = &settings.schedule;
    let u = &settings.updates;
    vec![
        (
            units::SHUTDOWN_TIMER,
            (!s.shutdown.is_empty()).then(|| units::shutdown_timer(&s.shutdown)),
        ),
        (
            units::IDLE_TIMER,
            (s.idle_shutdown_minutes > 0)
                .then(|| units::idle_timer(s.idle_shutdown_minutes, s.minute_seconds)),
        ),
        (
            units::MAINTENANCE_TIMER,
            (!u.reboot_window.is_empty())
                .then(|| units::maintenance_timer(&u.reboot_window, u.reboot_window_minutes)),
        ),
    ]
}

/// Runs the schedule step.
async fn run(ctx: &Input<'_>, apply: &mut ApplyHandle) -> Result<Ran> {
    let settings = settings(ctx)?;
    let wanted = wanted(settings);
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
    let plan = write(ctx, apply, &wanted, &installed)?;
    if !plan.reload && plan.start.is_empty() && plan.stop.is_empty() {
        return Ok(Outcome::not_configured(NOTHING).into());
    }
    let outcome = match describe(settings) {
        Some(summary) => Outcome::ok(summary),
        None => Outcome::not_configured(NOTHING),
    };
    // systemd's part (a daemon-reload takes seconds on a small VM) waits until the stack
    // has been started and READY sent: the runner does it then, see `apply`.
    Ok(Ran::from(outcome).with(Effect::Later(When::AfterReady, Box::new(plan))))
}

/// Writes the wanted timers' files and removes the others'; what is left for systemd.
fn write(
    ctx: &Input<'_>,
    apply: &mut ApplyHandle,
    wanted: &[(&'static str, Option<String>)],
    installed: &[Option<Vec<u8>>],
) -> Result<TimerPlan> {
    let mut plan = TimerPlan::default();
    for ((unit, text), old) in wanted.iter().zip(installed) {
        let path = ctx.paths.join(&format!("{}/{unit}", units::DIR));
        // Written or removed by a run killed before systemd took it: as if done now.
        let left = apply.refreshes.unit_pending(unit);
        match text {
            Some(text) => {
                let rewritten = apply.refreshes.write_unit(&path, text.as_bytes(), unit)?;
                // systemd (since v247) finds a new unit file by itself when asked to start
                // it; only a changed one needs a daemon-reload, which takes seconds on a
                // small VM.
                plan.reload |= (rewritten && old.is_some()) || left;
                plan.start.push((*unit, rewritten || left));
            }
            None if left && old.is_none() => plan.stop.push(*unit),
            None if old.is_some() => {
                apply.refreshes.mark_unit_pending(unit)?;
                std::fs::remove_file(&path)?;
                // Stopped below; a unit whose file is gone is dropped once stopped.
                plan.stop.push(*unit);
            }
            None => {}
        }
    }
    Ok(plan)
}

/// The step's message for what is configured, `None` for nothing.
fn describe(settings: &Settings) -> Option<String> {
    let s = &settings.schedule;
    let u = &settings.updates;
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
    (!described.is_empty()).then(|| {
        format!(
            "{}; meetings postpone a shutdown by {} min steps up to {} min",
            described.join("; "),
            s.postpone_minutes,
            s.postpone_limit_minutes
        )
    })
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

impl Later for TimerPlan {
    fn run<'r>(
        &'r self,
        _: &'r Input<'_>,
        apply: &'r mut ApplyHandle,
    ) -> StepFuture<'r, Option<Outcome>> {
        Box::pin(async move {
            let applied = arm(self, &mut apply.bus, &mut apply.refreshes).await;
            applied.err().map(Outcome::degraded)
        })
    }

    // The problem goes after the step's message; the step is degraded by it.
    fn merge(&self, earlier: Option<&StepRecord>, later: StepRecord) -> StepRecord {
        let Some(earlier) = earlier else {
            return later;
        };
        let message = format!("{}; {}", earlier.message, later.message);
        StepRecord {
            state: StepState::Degraded,
            last_error: Some(message.clone()),
            message,
            ..earlier.clone()
        }
    }
}

/// Arms a plan: daemon-reload if needed, stop removed timers, (re)start the others.
/// Returns the problem, if any, for the schedule step's record.
async fn arm(
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
