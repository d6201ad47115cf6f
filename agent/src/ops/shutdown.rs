//! A scheduled shutdown or a maintenance reboot that never cuts a meeting short: when
//! conferences are running it waits in steps (`schedule.postpone_minutes`), saying so in
//! `/var/lib/meet-agent/shutdown.json` (and so in status), up to a limit. At the limit a
//! shutdown first puts the videobridge into graceful shutdown (no new conferences) and
//! powers off when the running ones end or after one more step; a reboot for updates gives
//! up until the next maintenance window instead.

use super::power::{self, Action};
use super::stats::{self, Activity, Endpoints};
use super::{rfc3339_at, unix_now};
use crate::fsutil::write_atomic;
use crate::paths::Paths;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// Where progress is kept for status.
pub const STATE: &str = "/var/lib/meet-agent/shutdown.json";

/// What was asked and how it stands.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Progress {
    /// Power off or reboot.
    pub action: Action,
    /// Why (`scheduled`, `maintenance window`, `idle`).
    pub reason: String,
    /// When it was due (RFC 3339).
    pub due_at: String,
    /// Where it stands.
    pub state: ShutdownState,
    /// What the stack reported last.
    pub activity: String,
    /// When the next check is (while waiting).
    pub next_check_at: Option<String>,
    /// When waiting ends (the postponement limit).
    pub limit_at: String,
    /// One line for status.
    pub message: String,
}

/// Where a shutdown stands (as `shutdown.json` and status spell it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShutdownState {
    /// Conferences run; checking again later.
    Waiting,
    /// The limit passed: the bridge takes no new conferences while the running ones end.
    Draining,
    /// Power-off or reboot asked of logind.
    Requested,
    /// A reboot that gave up at its limit.
    GaveUp,
    /// logind refused or could not be asked.
    Failed,
}

/// How long to wait and where to look.
#[derive(Debug, Clone)]
pub struct Policy {
    /// One postponement step.
    pub step: Duration,
    /// The longest total postponement.
    pub limit: Duration,
    /// The stack's statistics endpoints.
    pub endpoints: Endpoints,
    /// How long a configured minute lasts (`schedule.minute_seconds`: 60 s on a real machine).
    pub minute: Duration,
}

/// The outcome, for the exit code and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Power off or reboot was requested from logind.
    Requested,
    /// Meetings outlasted the limit; nothing was done (reboots only).
    GaveUp,
}

/// Runs a shutdown or reboot to its end, waiting while meetings run.
pub async fn run(paths: &Paths, action: Action, reason: &str, policy: &Policy) -> Result<Ended> {
    let due = unix_now();
    // Waiting is measured on the monotonic clock; the Unix times are for status.
    let started = Instant::now();
    let step_minutes = policy.step.as_secs() / policy.minute.as_secs().max(1);
    let mut progress = Progress {
        action,
        reason: reason.into(),
        due_at: rfc3339_at(due),
        state: ShutdownState::Waiting,
        activity: String::new(),
        next_check_at: None,
        limit_at: rfc3339_at(due.saturating_add(super::seconds(policy.limit))),
        message: String::new(),
    };
    loop {
        let activity = stats::read(&policy.endpoints).await;
        progress.activity = activity.summary();
        if activity.idle() {
            return request(paths, &mut progress, &activity).await;
        }
        let left = policy.limit.saturating_sub(started.elapsed());
        if left.is_zero() {
            return match action {
                Action::Reboot => {
                    progress.state = ShutdownState::GaveUp;
                    progress.next_check_at = None;
                    progress.message = format!(
                        "reboot not done: meetings outlasted the maintenance window ({}); tries again at the next window",
                        activity.summary()
                    );
                    save(paths, &progress)?;
                    tracing::warn!("{}", progress.message);
                    Ok(Ended::GaveUp)
                }
                Action::PowerOff => {
                    drain_then_power_off(paths, progress, policy, step_minutes).await
                }
            };
        }
        let wait = policy.step.min(left);
        progress.message = format!(
            "{} postponed: {} running; checking again every {step_minutes} min until {}",
            action.words(),
            activity.summary(),
            progress.limit_at
        );
        progress.next_check_at = Some(rfc3339_at(unix_now().saturating_add(super::seconds(wait))));
        save(paths, &progress)?;
        tracing::info!("{}", progress.message);
        tokio::time::sleep(wait).await;
    }
}

/// At the postponement limit: the videobridge takes no new conferences, and the machine
/// powers off as soon as the running ones end, at the latest one step later.
async fn drain_then_power_off(
    paths: &Paths,
    mut progress: Progress,
    policy: &Policy,
    step_minutes: u64,
) -> Result<Ended> {
    let asked = stats::bridge_graceful_shutdown(&policy.endpoints.videobridge).await;
    progress.state = ShutdownState::Draining;
    progress.message = match asked {
        Ok(()) => format!(
            "power off ({}) postponed to its limit: the videobridge takes no new conferences; powering off when the running ones end or in {step_minutes} min ({})",
            progress.reason, progress.activity
        ),
        Err(e) => format!(
            "power off ({}) postponed to its limit; the videobridge could not be put into graceful shutdown ({e}); powering off in {step_minutes} min",
            progress.reason
        ),
    };
    progress.next_check_at = Some(rfc3339_at(
        unix_now().saturating_add(super::seconds(policy.step)),
    ));
    save(paths, &progress)?;
    tracing::info!("{}", progress.message);
    // Checking every few seconds, so that the end of the last conference ends the wait.
    let end = Instant::now() + policy.step;
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_secs(5).min(policy.step)).await;
        if stats::read(&policy.endpoints).await.idle() {
            break;
        }
    }
    let activity = stats::read(&policy.endpoints).await;
    progress.activity = activity.summary();
    request(paths, &mut progress, &activity).await
}

async fn request(paths: &Paths, progress: &mut Progress, activity: &Activity) -> Result<Ended> {
    progress.next_check_at = None;
    match power::request(progress.action).await {
        Ok(()) => {
            progress.state = ShutdownState::Requested;
            progress.message = format!(
                "{} requested ({}; {})",
                progress.action.words(),
                progress.reason,
                activity.summary()
            );
            save(paths, progress)?;
            tracing::info!("{}", progress.message);
            Ok(Ended::Requested)
        }
        Err(e) => {
            progress.state = ShutdownState::Failed;
            progress.message = format!("{} failed: {e:#}", progress.action.words());
            save(paths, progress)?;
            Err(e)
        }
    }
}

fn save(paths: &Paths, progress: &Progress) -> Result<()> {
    write_atomic(
        &paths.join(STATE),
        &serde_json::to_vec_pretty(progress)?,
        0o644,
    )?;
    Ok(())
}

/// The last saved progress, if any.
pub fn load(paths: &Paths) -> Option<Progress> {
    crate::fsutil::read_json(&paths.join(STATE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_written_with_the_states_as_text_still_loads() {
        // shutdown.json as meet-agent wrote it before the states were an enum.
        let old = r#"{"action":"reboot","reason":"maintenance window","due_at":"2026-12-04T03:00:00Z",
            "state":"gave-up","activity":"1 conference","next_check_at":null,
            "limit_at":"2026-12-04T04:00:00Z","message":"gave up"}"#;
        let p: Progress = serde_json::from_str(old).unwrap();
        assert_eq!(p.state, ShutdownState::GaveUp);
        let back = serde_json::to_value(&p).unwrap();
        assert_eq!(back["state"], "gave-up");
        for (text, state) in [
            ("waiting", ShutdownState::Waiting),
            ("draining", ShutdownState::Draining),
            ("requested", ShutdownState::Requested),
            ("failed", ShutdownState::Failed),
        ] {
            let parsed: ShutdownState = serde_json::from_value(text.into()).unwrap();
            assert_eq!(parsed, state);
        }
    }
}
