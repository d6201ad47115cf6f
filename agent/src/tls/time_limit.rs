//! Times that come from the network (a CA's `Retry-After`, its renewal information) are
//! held to a documented maximum before any arithmetic: a CA answering
//! `Retry-After: 300000000000` must neither overflow the clock (release builds abort on
//! panic) nor silence renewals for centuries.

use std::time::{Duration, SystemTime};
use time::OffsetDateTime;

/// The longest a CA's answer can hold off the agent: 30 days. A CA that still wants a pause
/// after that says so again at the next attempt; a certificate lives 90 days or less, so a
/// longer silence could let it expire.
pub const MAX_WAIT: Duration = Duration::from_secs(30 * 24 * 3600);

/// A point in time a CA asked for, after clamping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asked {
    /// When, at most [`MAX_WAIT`] from when it was asked.
    pub at: SystemTime,
    /// Whether the CA asked for longer than [`MAX_WAIT`] (and was held to it).
    pub clamped: bool,
}

/// `delay` from `now`, at most [`MAX_WAIT`].
pub fn after(now: SystemTime, delay: Duration) -> Asked {
    let clamped = delay > MAX_WAIT;
    let delay = delay.min(MAX_WAIT);
    Asked {
        // Cannot overflow with a 30-day delay on any real clock; `now` is a safe answer
        // on one that would.
        at: now.checked_add(delay).unwrap_or(now),
        clamped,
    }
}

/// `at` (an absolute time a CA named), no later than [`MAX_WAIT`] from `now`.
pub fn until(now: SystemTime, at: SystemTime) -> Asked {
    match at.duration_since(now) {
        Ok(delay) => after(now, delay),
        Err(_) => Asked { at, clamped: false },
    }
}

/// `now` plus `delay` for a schedule, held to [`MAX_WAIT`].
pub fn offset_after(now: OffsetDateTime, delay: Duration) -> OffsetDateTime {
    now.checked_add(
        delay
            .min(MAX_WAIT)
            .try_into()
            .unwrap_or(time::Duration::ZERO),
    )
    .unwrap_or(now)
}

/// A `SystemTime` as an `OffsetDateTime`, without the panic of `From` on years past 9999:
/// such a time becomes the latest one `time` can hold.
pub fn to_offset(at: SystemTime) -> OffsetDateTime {
    let latest = OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT);
    let seconds = match at.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    };
    OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(if seconds > 0 {
        latest
    } else {
        OffsetDateTime::UNIX_EPOCH
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_delay_is_held_to_the_maximum() {
        let now = SystemTime::now();
        for seconds in [300_000_000_000, u64::MAX] {
            let asked = after(now, Duration::from_secs(seconds));
            assert!(asked.clamped);
            assert_eq!(asked.at.duration_since(now).ok(), Some(MAX_WAIT));
        }
        let asked = after(now, Duration::from_secs(60));
        assert!(!asked.clamped);
    }

    #[test]
    fn a_far_absolute_time_is_held_to_the_maximum() {
        let now = SystemTime::now();
        let far = now + Duration::from_secs(300_000_000_000);
        let asked = until(now, far);
        assert!(asked.clamped);
        assert_eq!(asked.at.duration_since(now).ok(), Some(MAX_WAIT));
        let past = now - Duration::from_secs(5);
        assert_eq!(
            until(now, past),
            Asked {
                at: past,
                clamped: false
            }
        );
    }

    #[test]
    fn schedule_additions_never_overflow() {
        let end_of_time = OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT);
        assert_eq!(
            offset_after(end_of_time, Duration::from_secs(u64::MAX)),
            end_of_time
        );
        let now = OffsetDateTime::now_utc();
        assert_eq!(
            offset_after(now, Duration::from_secs(u64::MAX)) - now,
            MAX_WAIT
        );
        // Years past 9999 (what `From<SystemTime>` panics on) become the latest time.
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        assert_eq!(to_offset(far), end_of_time);
    }
}
