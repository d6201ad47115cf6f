//! The agent's one retry loop for calls to remote things: a backoff that doubles up to a
//! ceiling, an attempt limit and an overall deadline, whichever ends it first. The caller
//! says, per failure, whether another attempt can help (a connection refused early in boot,
//! a 5xx) or not (a redirect, a refusal), and words the final error itself.

use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, Instant};

/// How long and how often to try again.
#[derive(Debug, Clone)]
pub struct Retry {
    /// No attempt starts after this long (from the first one).
    pub deadline: Duration,
    /// First pause between attempts; doubles up to `max_backoff`.
    pub backoff: Duration,
    /// Longest pause between attempts.
    pub max_backoff: Duration,
    /// Timeout of one request (for the caller's HTTP client).
    pub request_timeout: Duration,
    /// At most this many attempts (1 is a single try, no retry).
    pub max_attempts: u32,
}

impl Retry {
    /// Boot defaults for a metadata service within an overall `deadline` (early in boot
    /// the link-local route may be missing for a moment).
    pub fn boot_default(deadline: Duration) -> Self {
        Self {
            deadline,
            backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            request_timeout: Duration::from_secs(5),
            max_attempts: u32::MAX,
        }
    }

    /// A single attempt bounded by `request_timeout`: for callers that poll anyway (the
    /// scaling loop, the drain runner), where a miss is simply tried on their next tick.
    pub fn once(request_timeout: Duration) -> Self {
        Self {
            deadline: Duration::ZERO,
            backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
            request_timeout,
            max_attempts: 1,
        }
    }

    /// Runs `attempt` until it succeeds, fails with [`Failed::Stop`], or the attempt limit
    /// or the deadline leaves no room for another; each retry is logged with `label`.
    pub async fn run<T, E, F, Fut>(&self, label: &str, mut attempt: F) -> Result<T, GaveUp<E>>
    where
        E: Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failed<E>>>,
    {
        let start = Instant::now();
        let mut pause = self.backoff;
        let mut attempts = 1;
        loop {
            let error = match attempt().await {
                Ok(value) => return Ok(value),
                Err(Failed::Stop(error)) => return Err(GaveUp { error, attempts }),
                Err(Failed::Again(error)) => error,
            };
            let out_of_time = start.elapsed().saturating_add(pause) > self.deadline;
            if attempts >= self.max_attempts || out_of_time {
                return Err(GaveUp { error, attempts });
            }
            tracing::info!("{label}: attempt {attempts} failed ({error}); retrying in {pause:?}");
            tokio::time::sleep(pause).await;
            pause = pause.saturating_mul(2).min(self.max_backoff);
            attempts += 1;
        }
    }
}

/// How one attempt failed.
#[derive(Debug)]
pub enum Failed<E> {
    /// Another attempt may succeed (no answer yet, a server error, a timeout).
    Again(E),
    /// Another attempt would fail the same way.
    Stop(E),
}

/// The last failure once no attempt is left, and how many were made.
#[derive(Debug)]
pub struct GaveUp<E> {
    /// The last attempt's failure.
    pub error: E,
    /// Attempts made.
    pub attempts: u32,
}

impl<E: Display> GaveUp<E> {
    /// The last failure, with ` (after N attempts)` when there were several.
    pub fn message(&self) -> String {
        if self.attempts > 1 {
            format!("{} (after {} attempts)", self.error, self.attempts)
        } else {
            self.error.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Failed, Retry};
    use std::time::Duration;

    fn quick(max_attempts: u32) -> Retry {
        Retry {
            deadline: Duration::from_secs(5),
            backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
            request_timeout: Duration::from_secs(1),
            max_attempts,
        }
    }

    #[tokio::test]
    async fn retries_until_success_and_stops_at_the_limit_or_a_stop() {
        let mut n = 0;
        let ok = quick(5)
            .run("t", || {
                n += 1;
                let v = n;
                async move {
                    if v < 3 {
                        Err(Failed::Again("busy"))
                    } else {
                        Ok(v)
                    }
                }
            })
            .await
            .unwrap();
        assert_eq!(ok, 3);
        let gave_up = quick(2)
            .run("t", || async { Err::<(), _>(Failed::Again("busy")) })
            .await
            .unwrap_err();
        assert_eq!(gave_up.message(), "busy (after 2 attempts)");
        let stopped = quick(5)
            .run("t", || async { Err::<(), _>(Failed::Stop("refused")) })
            .await
            .unwrap_err();
        assert_eq!(stopped.message(), "refused");
        let once = Retry::once(Duration::from_secs(1))
            .run("t", || async { Err::<(), _>(Failed::Again("busy")) })
            .await
            .unwrap_err();
        assert_eq!(once.attempts, 1);
    }

    #[tokio::test]
    async fn the_deadline_ends_the_retries() {
        let policy = Retry {
            deadline: Duration::from_millis(30),
            backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(10),
            ..quick(u32::MAX)
        };
        let start = std::time::Instant::now();
        let gave_up = policy
            .run("t", || async { Err::<(), _>(Failed::Again("busy")) })
            .await
            .unwrap_err();
        assert!(gave_up.attempts >= 2 && start.elapsed() < Duration::from_secs(1));
    }
}
