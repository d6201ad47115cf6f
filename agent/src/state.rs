//! `/var/lib/meet-agent/state.json`: what each step did, when, and why not.
//!
//! Written atomically after every step so that `status` can show progress while a long step
//! (waiting for DNS) runs, and so a crash never leaves a torn file.

use crate::fsutil::{read_optional, write_atomic};
pub use crate::identity::Identity;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use std::path::Path;

/// Version of the state file's shape.
pub const STATE_VERSION: u32 = 1;

/// How a step ended (or that it has not run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepState {
    /// Did what it should.
    Ok,
    /// Did something useful but not everything (self-signed instead of a real certificate).
    Degraded,
    /// Did not work; the message says why.
    Failed,
    /// Has not run yet.
    Pending,
    /// Running now (a long wait); the message shows its progress.
    Running,
    /// Nothing to do with the present configuration or build.
    NotConfigured,
}

impl StepState {
    /// The word `status` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Ok => "ok",
            StepState::Degraded => "degraded",
            StepState::Failed => "failed",
            StepState::Pending => "pending",
            StepState::Running => "running",
            StepState::NotConfigured => "not configured",
        }
    }
}

/// The record of one step's last run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StepRecord {
    /// Outcome of the last run.
    pub state: StepState,
    /// One line for the operator.
    pub message: String,
    /// When the last run started (RFC 3339, UTC).
    pub started_at: String,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// The last error, kept until the step succeeds again.
    pub last_error: Option<String>,
    /// The instance this record belongs to (for once-per-instance steps).
    pub instance_id: Option<String>,
}

/// The whole state file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct State {
    /// Shape version.
    pub version: u32,
    /// The instance the once-per-instance records belong to.
    pub instance_id: Option<String>,
    /// When the last `run` started.
    pub last_run_at: Option<String>,
    /// Why the last run could not start its steps (configuration errors).
    pub run_error: Option<String>,
    /// Identity as of the last identity step.
    pub identity: Option<Identity>,
    /// Per step name, its last run.
    pub steps: BTreeMap<String, StepRecord>,
}

impl State {
    /// Loads the state file; a missing file is an empty state.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = read_optional(path).map_err(|e| {
            let denied = e
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::PermissionDenied);
            if denied {
                anyhow::anyhow!(
                    "the state file {} is readable by root only; run this command as root (sudo)",
                    path.display()
                )
            } else {
                e
            }
        })?;
        match bytes {
            None => Ok(Self {
                version: STATE_VERSION,
                ..Default::default()
            }),
            Some(bytes) => serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "state file {} is corrupt; move it away and run `meet-agent run` again",
                    path.display()
                )
            }),
        }
    }

    /// Writes the state file atomically, readable by root alone (0600): its messages quote
    /// what providers and CAs answered, which is redacted but not ours to publish.
    ///
    /// A failure is a [`SaveError`] that says what to do (free space, say, when the disk is
    /// full): an expected failure, which `run` reports as a failed step.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        write_atomic(path, text.as_bytes(), 0o600).map_err(|e| SaveError::new(path, &e))?;
        Ok(())
    }
}

/// The state file could not be written; the message names the file, the reason and what to
/// do (`run` exits 1 on it, as for a failed step, rather than 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SaveError(String);

impl SaveError {
    fn new(path: &Path, error: &anyhow::Error) -> Self {
        let errno = error
            .chain()
            .filter_map(|e| e.downcast_ref::<std::io::Error>())
            .find_map(std::io::Error::raw_os_error);
        let dir = path.parent().unwrap_or(path).display();
        let file = path.display();
        Self(match errno {
            Some(nix::libc::ENOSPC) | Some(nix::libc::EDQUOT) => format!(
                "cannot write the state file {file}: the disk is full; free space on the file system holding {dir} (for example `apt-get clean` or `journalctl --vacuum-size=100M`) and run `meet-agent run` again"
            ),
            Some(nix::libc::EROFS) => format!(
                "cannot write the state file {file}: the file system holding {dir} is read-only; remount it read-write and run `meet-agent run` again"
            ),
            _ => format!(
                "cannot write the state file {file}: {error:#}; fix that and run `meet-agent run` again"
            ),
        })
    }
}

/// Now as RFC 3339 UTC text.
pub fn now_rfc3339() -> String {
    rfc3339(time::OffsetDateTime::now_utc())
}

/// A time as RFC 3339 in UTC, to the second.
pub fn rfc3339(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
