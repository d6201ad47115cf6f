//! Write-behind: file writes done on a thread of their own, so that a run's next step need
//! not wait for the disk.
//!
//! A durable write (`fsutil::write_atomic`: the file, then its folder, each fsynced) took
//! 4 to 19 ms on a booting virtual machine under TCG, and a first boot's run makes a dozen
//! of them for its state file alone. Writes queued here still happen whole and durable, one
//! after another; a write queued for a file that already has one waiting replaces it in its
//! place (only the newest content of a file matters), so the order holds for each file, not
//! across files. [`WriteBehind::flush`] waits until all are done, so a caller decides when
//! the disk must have caught up (the run: before READY).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// A write: makes the file whole and durable, or says why it could not.
type Job = Box<dyn FnOnce() -> anyhow::Result<()> + Send>;

/// The writer thread and its queue. Dropping it finishes the queued writes first.
pub struct WriteBehind {
    shared: Arc<Shared>,
    /// `None` when no thread could be started: writes then happen in the caller.
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A write that failed: the file it was for, and why.
#[derive(Debug)]
pub struct Failed {
    /// The file.
    pub path: PathBuf,
    /// The write's error, as its job returned it (a `state::SaveError`, say).
    pub error: anyhow::Error,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when a write is queued, when one ends, and when the writer is to stop.
    changed: Condvar,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<(PathBuf, Job)>,
    /// Whether the thread is writing one now.
    writing: bool,
    /// What failed since it was last taken.
    failed: Vec<Failed>,
    /// Write what waits, then stop.
    closing: bool,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        // Poisoned only by a panic while it was held; the queue is whole between statements.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait<'q>(&self, queue: MutexGuard<'q, Queue>) -> MutexGuard<'q, Queue> {
        self.changed
            .wait(queue)
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The thread's loop: the oldest waiting write, until closed with nothing waiting.
    fn write_until_closed(&self) {
        let mut queue = self.queue();
        loop {
            if let Some((path, job)) = queue.waiting.pop_front() {
                queue.writing = true;
                drop(queue);
                // A write that panics (a bug; release builds abort) is a failure, not a
                // thread gone with `writing` set and every flush waiting for it.
                let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))
                    .unwrap_or_else(|_| {
                        Err(anyhow::anyhow!("writing {} panicked", path.display()))
                    });
                queue = self.queue();
                queue.writing = false;
                if let Err(error) = written {
                    queue.failed.push(Failed { path, error });
                }
                self.changed.notify_all();
            } else if queue.closing {
                return;
            } else {
                queue = self.wait(queue);
            }
        }
    }
}

impl WriteBehind {
    /// Starts the writer thread (or, when none can be started, writes in the caller).
    pub fn start() -> Self {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            changed: Condvar::new(),
        });
        let for_thread = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("write-behind".into())
            .spawn(move || for_thread.write_until_closed())
            .inspect_err(|e| tracing::debug!("no write-behind thread ({e}); writing in line"))
            .ok();
        Self { shared, thread }
    }

    /// Queues `job`, the write of `path`, replacing a write of `path` that has not begun.
    pub fn queue(&self, path: &Path, job: impl FnOnce() -> anyhow::Result<()> + Send + 'static) {
        let mut queue = self.shared.queue();
        if self.thread.is_none() {
            if let Err(error) = job() {
                let path = path.to_path_buf();
                queue.failed.push(Failed { path, error });
            }
            return;
        }
        let job: Job = Box::new(job);
        match queue.waiting.iter_mut().find(|(p, _)| p == path) {
            Some(waiting) => waiting.1 = job,
            None => queue.waiting.push_back((path.to_path_buf(), job)),
        }
        self.shared.changed.notify_all();
    }

    /// The writes that failed since this was last asked, without waiting for the others.
    pub fn failures(&self) -> Vec<Failed> {
        std::mem::take(&mut self.shared.queue().failed)
    }

    /// Waits until every queued write is done; the writes that failed since this (or
    /// [`WriteBehind::failures`]) was last asked, oldest first.
    pub fn flush(&self) -> Vec<Failed> {
        let mut queue = self.shared.queue();
        while !queue.waiting.is_empty() || queue.writing {
            queue = self.shared.wait(queue);
        }
        std::mem::take(&mut queue.failed)
    }
}

impl Drop for WriteBehind {
    /// Finishes the queued writes (a run that stops on an error still records what it
    /// did), logging any that fail, then stops the thread.
    fn drop(&mut self) {
        self.shared.queue().closing = true;
        self.shared.changed.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        for failed in self.failures() {
            tracing::warn!("{:#}", failed.error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn writes_happen_in_order_and_a_file_waiting_twice_is_written_once_with_its_newest() {
        let writes = WriteBehind::start();
        assert!(writes.thread.is_some(), "the thread started");
        let log = Arc::new(Mutex::new(Vec::new()));
        // Holds the thread in the first write until all the others are queued.
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let (held, log1) = (Arc::clone(&gate), Arc::clone(&log));
        writes.queue(Path::new("/first"), move || {
            let (open, opened) = &*held;
            let mut open = open.lock().unwrap();
            while !*open {
                open = opened.wait(open).unwrap();
            }
            log1.lock().unwrap().push("first".to_string());
            Ok(())
        });
        for (path, content) in [("/a", "a1"), ("/b", "b1"), ("/a", "a2"), ("/a", "a3")] {
            let log = Arc::clone(&log);
            writes.queue(Path::new(path), move || {
                log.lock().unwrap().push(content.to_string());
                Ok(())
            });
        }
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        assert!(writes.flush().is_empty());
        assert_eq!(*log.lock().unwrap(), ["first", "a3", "b1"]);
    }

    #[test]
    fn a_failure_is_returned_once_with_its_file_and_the_other_writes_still_happen() {
        let writes = WriteBehind::start();
        let done = Arc::new(AtomicUsize::new(0));
        writes.queue(Path::new("/bad"), || Err(anyhow::anyhow!("disk full")));
        let counted = Arc::clone(&done);
        writes.queue(Path::new("/good"), move || {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        let failed = writes.flush();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].path, Path::new("/bad"));
        assert_eq!(format!("{}", failed[0].error), "disk full");
        assert_eq!(done.load(Ordering::SeqCst), 1);
        assert!(writes.flush().is_empty() && writes.failures().is_empty());
    }

    #[test]
    fn a_write_that_panics_is_a_failure_and_the_next_writes_still_happen() {
        let writes = WriteBehind::start();
        writes.queue(Path::new("/panics"), || panic!("a bug"));
        let done = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&done);
        writes.queue(Path::new("/after"), move || {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        let failed = writes.flush();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].path, Path::new("/panics"));
        assert_eq!(done.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn dropping_it_finishes_the_queued_writes() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("f");
        let writes = WriteBehind::start();
        let target = path.clone();
        writes.queue(&path, move || {
            // Slow enough that the drop comes first.
            std::thread::sleep(std::time::Duration::from_millis(50));
            crate::fsutil::write_atomic(&target, b"kept", 0o600).map(drop)
        });
        drop(writes);
        assert_eq!(std::fs::read(&path).expect("written"), b"kept");
    }
}
