//! Idle shutdown (`schedule.idle_shutdown_minutes`): run every minute by
//! meet-agent-idle.timer, it asks the stack whether any conference is running and powers the
//! machine off once none has been for the configured time. The idle clock starts at the
//! first check after boot that finds the agent's run finished (a machine started for a
//! meeting that nobody joins goes off again; one still setting itself up does not), and is
//! kept with the boot's id in `/var/lib/meet-agent/idle.json`, so a reboot starts afresh.

use super::power::{self, Action};
use super::rfc3339_at;
use super::stats::{self, Endpoints};
use crate::fsutil::write_atomic;
use crate::paths::Paths;
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// Where the idle clock is kept.
pub const STATE: &str = "/var/lib/meet-agent/idle.json";

/// The idle clock.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct IdleState {
    /// The boot this belongs to.
    pub boot_id: String,
    /// Since when no conference has run (Unix seconds), if none is running.
    pub idle_since: Option<i64>,
    /// The last check (RFC 3339).
    pub checked_at: String,
    /// One line for status.
    pub message: String,
}

/// Whether `meet-agent run` (or renew) holds its lock right now. The lock is opened as the
/// run opens it (no link followed, no blocking on a FIFO): a thing planted at its path is
/// not a run in progress (no run can take it), and the check goes on with a warning that
/// says what to remove.
fn agent_running(paths: &Paths) -> bool {
    match crate::fsutil::open_existing_lock_file(&paths.run_lock()) {
        Ok(Some(file)) => {
            nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockSharedNonblock).is_err()
        }
        Ok(None) => false,
        Err(e) => {
            tracing::warn!("{e:#}");
            false
        }
    }
}

/// One check: reads the stack's statistics, updates the idle clock, powers off when due.
/// `minute` is how long a configured minute lasts (`schedule.minute_seconds`: 60 s on a real machine).
pub async fn check(
    paths: &Paths,
    facts: &dyn crate::host::HostFacts,
    idle_minutes: u32,
    endpoints: &Endpoints,
    minute: std::time::Duration,
) -> Result<()> {
    if agent_running(paths) {
        // First boot can take minutes (security updates); nobody could have joined yet.
        tracing::info!("meet-agent run is in progress; the idle clock waits for it");
        return Ok(());
    }
    let boot = facts.boot_id();
    // Another boot's clock does not count.
    let saved_since = load(paths)
        .filter(|s| s.boot_id == boot)
        .and_then(|s| s.idle_since);
    let activity = stats::read(endpoints).await;
    let now = facts.now().unix_timestamp();
    let limit = i64::from(idle_minutes).saturating_mul(super::seconds(minute));
    let idle_since = if activity.idle() {
        Some(saved_since.unwrap_or(now))
    } else {
        None
    };
    let idle_for = idle_since.map(|since| now - since);
    let due = idle_for.is_some_and(|s| s >= limit);
    let unit = super::seconds(minute).max(1);
    let message = match idle_for {
        None => format!("not idle: {}", activity.summary()),
        Some(s) if due => format!(
            "idle for {} of {idle_minutes} min: powering off ({})",
            s / unit,
            activity.summary()
        ),
        Some(s) => format!(
            "idle for {} of {idle_minutes} min since {} ({})",
            s / unit,
            rfc3339_at(now - s),
            activity.summary()
        ),
    };
    let state = IdleState {
        boot_id: boot,
        idle_since,
        checked_at: rfc3339_at(now),
        message,
    };
    write_atomic(
        &paths.join(STATE),
        &serde_json::to_vec_pretty(&state)?,
        0o644,
    )?;
    tracing::info!("{}", state.message);
    if due {
        // Nothing is running, so there is nothing to postpone for.
        power::request(Action::PowerOff).await?;
    }
    Ok(())
}

/// The last saved idle clock, if any.
pub fn load(paths: &Paths) -> Option<IdleState> {
    crate::fsutil::read_json(&paths.join(STATE))
}
