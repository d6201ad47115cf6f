//! The ledger: this run's state, in which the runner records each step's outcome and a
//! running step its progress, saved to the state file behind the run ([`WriteBehind`]):
//! the next step runs while the last one's record is written.
//!
//! Nothing is weakened by not waiting: every save is whole and durable, the file only goes
//! forward, and a crash loses at most the records of the last few milliseconds, whose
//! steps then run again at the next boot as a step does that a crash interrupts.
//! [`Ledger::flush`] waits until the file holds the newest state: the runner calls it
//! before READY, so that `status`, the console banner and a crash after READY see the
//! whole run. A save's failure (a full disk; a progress record's too, which was only
//! logged when each save waited) is reported by the next save that has news, or the flush:
//! the run stops there, after the steps between have run. A failed save fails the run even
//! when a later one succeeded.

use super::step::{Progress, StepName};
use crate::state::{State, StepRecord, StepState};
use crate::write_behind::WriteBehind;
use anyhow::Result;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The state of this run and its file.
pub(super) struct Ledger<'w> {
    path: PathBuf,
    // A lock rather than a cell: a long step reports from a callback that must be Send.
    state: Mutex<State>,
    /// The state last handed to the writer, so that a save that changes nothing writes
    /// nothing (the run's last save often repeats the last step's).
    handed: Mutex<Option<State>>,
    writes: &'w WriteBehind,
}

impl<'w> Ledger<'w> {
    /// A ledger for `state`, saved at `path` through `writes`.
    pub(super) fn new(path: PathBuf, state: State, writes: &'w WriteBehind) -> Self {
        Self {
            path,
            state: Mutex::new(state),
            handed: Mutex::new(None),
            writes,
        }
    }

    /// The state (never held across an await: steps report progress through it).
    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        // Poisoned only by a panic while it was held, which records nothing half-done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records `record` as `step`'s (in memory; see [`Ledger::save`]); whether a reader
    /// of the file would learn something from it: its outcome or message differs from the
    /// record it replaces (a step's progress, or its last run's). A rerun that changes
    /// nothing then saves once at the end instead of after every step.
    pub(super) fn put(&self, step: StepName, record: StepRecord) -> bool {
        let mut state = self.state();
        let news = state.steps.get(step.as_str()).is_none_or(|old| {
            (&old.state, &old.message, &old.last_error, &old.instance_id)
                != (
                    &record.state,
                    &record.message,
                    &record.last_error,
                    &record.instance_id,
                )
        });
        state.steps.insert(step.as_str().to_string(), record);
        news
    }

    /// Hands the state as it is now to the writer, without waiting for the disk; the
    /// failure of an earlier save, if one failed since the last was reported.
    pub(super) fn save(&self) -> Result<()> {
        self.check(self.writes.failures())?;
        let state = self.state();
        self.hand_over(&state);
        Ok(())
    }

    /// Waits until the file holds the state as it is now (and every other write queued
    /// with it is done); the failure of a save since the last was reported.
    pub(super) fn flush(&self) -> Result<()> {
        self.hand_over(&self.state());
        self.check(self.writes.flush())
    }

    /// `state` (held by the caller, so that two callers cannot hand over out of order) to
    /// the writer, unless it is what was handed over last.
    fn hand_over(&self, state: &State) {
        let mut handed = self.handed.lock().unwrap_or_else(PoisonError::into_inner);
        if handed.as_ref() == Some(state) {
            return;
        }
        let (snapshot, path) = (state.clone(), self.path.clone());
        self.writes.queue(&self.path, move || snapshot.save(&path));
        *handed = Some(state.clone());
    }

    /// The first failed save of the state file among `failed` as the error (what else
    /// failed is logged); the state is then written again at the next save.
    fn check(&self, failed: Vec<crate::write_behind::Failed>) -> Result<()> {
        let mut first = None;
        for failed in failed {
            if failed.path == self.path && first.is_none() {
                *self.handed.lock().unwrap_or_else(PoisonError::into_inner) = None;
                first = Some(failed.error);
            } else {
                tracing::warn!("{:#}", failed.error);
            }
        }
        first.map_or(Ok(()), Err)
    }
}

impl Progress for Ledger<'_> {
    fn report(&self, step: StepName, message: &str, started_at: &str, duration_ms: u64) {
        let mut state = self.state();
        let record = StepRecord {
            state: StepState::Running,
            message: message.to_string(),
            started_at: started_at.to_string(),
            duration_ms,
            last_error: None,
            instance_id: state.instance_id.clone(),
        };
        state.steps.insert(step.as_str().into(), record);
        // A failure is the next save's to report.
        self.hand_over(&state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(message: &str) -> StepRecord {
        StepRecord {
            state: StepState::Ok,
            message: message.into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            duration_ms: 0,
            last_error: None,
            instance_id: None,
        }
    }

    fn on_disk(path: &std::path::Path) -> State {
        State::load(path).expect("a readable state file")
    }

    #[test]
    fn a_flush_leaves_the_newest_state_in_the_file() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("state.json");
        let writes = WriteBehind::start();
        let ledger = Ledger::new(path.clone(), State::default(), &writes);
        // Many saves in a row: whichever the writer skips, the last one is what stays.
        for i in 0..50 {
            ledger.put(StepName::Ddns, record(&format!("save {i}")));
            ledger.save().expect("handed over");
        }
        ledger.flush().expect("written");
        assert_eq!(on_disk(&path).steps["ddns"].message, "save 49");
        // Progress reported from another thread goes the same way.
        std::thread::scope(|s| {
            s.spawn(|| ledger.report(StepName::Tls, "ordering", "2026-01-01T00:00:00Z", 5));
        });
        ledger.flush().expect("written");
        assert_eq!(on_disk(&path).steps["tls"].state, StepState::Running);
    }

    #[test]
    fn a_run_that_stops_without_a_flush_still_writes_its_last_save() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("state.json");
        let writes = WriteBehind::start();
        let ledger = Ledger::new(path.clone(), State::default(), &writes);
        ledger.put(StepName::Secrets, record("made"));
        ledger.save().expect("handed over");
        drop(ledger);
        drop(writes);
        assert_eq!(on_disk(&path).steps["secrets"].message, "made");
    }

    #[test]
    fn a_failed_write_is_reported_by_the_next_save_or_the_flush_with_what_to_do() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        // The state file's folder is a file: every write fails.
        let blocker = dir.path().join("not-a-folder");
        std::fs::write(&blocker, "").expect("a file");
        let writes = WriteBehind::start();
        let ledger = Ledger::new(blocker.join("state.json"), State::default(), &writes);
        ledger
            .save()
            .expect("handing over does not wait for the disk");
        let failed = ledger.flush().expect_err("the write failed");
        assert!(
            failed.downcast_ref::<crate::state::SaveError>().is_some(),
            "{failed:#}"
        );
        assert!(format!("{failed:#}").contains("run `meet-agent run` again"));
        // Reported once; the same state is written again (and fails again) at the next
        // save, and another file's failure is only logged.
        writes.queue(&dir.path().join("other"), || Err(anyhow::anyhow!("other")));
        ledger.save().expect("handed over");
        assert!(ledger.flush().is_err());
        assert!(ledger.flush().is_err(), "written again, failed again");
    }
}
