//! The disk guard of a machine that records: a recording is never started when the disk
//! that holds jibri's spool is nearly full, and one in progress is stopped before it fills
//! it. jibri checks no free space itself (jitsi/jibri 62369d55eaf5): ffmpeg would write
//! until the disk is full, and the machine's other writers (the journal, prosody, the
//! agent's own state) would fail with it.
//!
//! `meet-agent recording guard` (meet-agent-recording-guard.timer, every 30 seconds) asks
//! [`judge`] what to do with the free space it measures, does it through jibri's own APIs
//! (a graceful shutdown refuses new recordings, `stopService` ends one now) and systemd
//! (starting jibri again once there is room), and keeps its verdict in [`STATE`] for
//! `meet-agent status`.

use crate::paths::Paths;
use std::path::Path;

/// Where the guard's last verdict is kept.
pub const STATE: &str = "/var/lib/meet-agent/recording-guard.json";

/// What the guard found and did last.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GuardState {
    /// Recordings are refused (the guard shut jibri down gracefully and has not started
    /// it again).
    pub refused: bool,
    /// Free bytes on the spool's file system at the last check.
    pub free_bytes: u64,
    /// `recording.min_free_mib` in bytes.
    pub min_free_bytes: u64,
    /// The recording in progress was stopped for lack of space at the last refusal.
    pub stopped_recording: bool,
    /// When the refusal began, seconds since the epoch (0 when not refused).
    pub since: u64,
}

impl GuardState {
    /// One sentence for status when recordings are refused.
    pub fn refusal(&self) -> Option<String> {
        self.refused.then(|| {
            format!(
                "recordings are refused: {} free for jibri's recordings, below recording.min_free_mib ({}){}; free space (recordings waiting for their upload: `meet-agent recording list`) and the guard starts jibri again",
                crate::printable::human_bytes(self.free_bytes),
                crate::printable::human_bytes(self.min_free_bytes),
                if self.stopped_recording {
                    "; the recording in progress was stopped before it filled the disk"
                } else {
                    ""
                }
            )
        })
    }
}

/// What the guard does about the free space it measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Enough room: nothing to do, or start jibri again after a refusal.
    Room,
    /// Below the minimum: take no new recording (jibri shuts down once idle).
    Refuse,
    /// Below a quarter of the minimum while recording: stop the recording now, then
    /// refuse.
    StopNow,
}

/// The verdict for `free` bytes against `min_free`, given whether recordings are refused
/// already and whether jibri is recording. A refusal ends only at a quarter above the
/// minimum, so that a disk hovering at the line does not start and stop jibri in turn.
pub fn judge(free: u64, min_free: u64, refused: bool, busy: bool) -> Verdict {
    let resume_at = min_free.saturating_add(min_free / 4);
    if busy && free < min_free / 4 {
        Verdict::StopNow
    } else if free < min_free || (refused && free < resume_at) {
        Verdict::Refuse
    } else {
        Verdict::Room
    }
}

/// Free bytes for an unprivileged writer (jibri) on the file system holding `dir` (its
/// nearest existing ancestor, so a spool not made yet is measured where it will be).
pub fn free_bytes(paths: &Paths, dir: &str) -> anyhow::Result<u64> {
    let mut at = paths.join(dir);
    while !at.exists() {
        match at.parent() {
            Some(parent) => at = parent.to_path_buf(),
            None => break,
        }
    }
    free_at(&at)
}

fn free_at(path: &Path) -> anyhow::Result<u64> {
    let st = nix::sys::statvfs::statvfs(path)
        .map_err(|e| anyhow::anyhow!("cannot measure the free space at {}: {e}", path.display()))?;
    Ok((st.blocks_available() as u64).saturating_mul(st.fragment_size() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_below_the_minimum_stops_a_recording_below_a_quarter_and_resumes_above_it() {
        let min = 4_000;
        let rows = [
            // free, refused, busy -> verdict
            (10_000, false, false, Verdict::Room),
            (10_000, false, true, Verdict::Room),
            (3_999, false, false, Verdict::Refuse),
            (3_999, false, true, Verdict::Refuse),
            (999, false, true, Verdict::StopNow),
            (999, false, false, Verdict::Refuse),
            // After a refusal: still refused up to a quarter above the minimum.
            (4_500, true, false, Verdict::Refuse),
            (5_000, true, false, Verdict::Room),
        ];
        for (free, refused, busy, want) in rows {
            assert_eq!(
                judge(free, min, refused, busy),
                want,
                "{free} {refused} {busy}"
            );
        }
    }

    #[test]
    fn free_space_is_measured_at_the_nearest_existing_folder() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path());
        let free = free_bytes(&paths, "/var/lib/ryo-jitsi/jibri").unwrap();
        assert!(free > 0);
        let refusal = GuardState {
            refused: true,
            free_bytes: 3 << 30,
            min_free_bytes: 4 << 30,
            ..GuardState::default()
        }
        .refusal()
        .unwrap();
        assert!(
            refusal.starts_with("recordings are refused: 3.0 GiB free"),
            "{refusal}"
        );
    }
}
