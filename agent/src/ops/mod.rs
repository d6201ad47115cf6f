//! Operations after the first boot: meeting-aware shutdown and reboot, idle shutdown, and
//! the power requests they end in.

pub mod idle;
pub mod power;
pub mod shutdown;
pub mod stats;
pub mod units;

use std::time::Duration;

/// How long a configured "minute" lasts: 60 s, or `MEET_AGENT_MINUTE_SECONDS` (tests only,
/// so that a postponement of "2 minutes" can be watched in seconds).
pub fn minute() -> Duration {
    let seconds = std::env::var("MEET_AGENT_MINUTE_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        // Bounded, so that minutes times a configured count cannot overflow a Duration.
        .filter(|s| (1..=3600).contains(s))
        .unwrap_or(60);
    Duration::from_secs(seconds)
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A Unix time as RFC 3339 (UTC).
pub fn rfc3339_at(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(crate::state::rfc3339)
        .unwrap_or_default()
}
