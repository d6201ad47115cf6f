//! Operations after the first boot: meeting-aware shutdown and reboot, idle shutdown, and
//! the power requests they end in.

pub mod idle;
pub mod power;
pub mod shutdown;
pub mod stats;
pub mod units;

use std::time::Duration;

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// `d` in whole seconds as the signed count Unix times are added to. A duration past
/// `i64::MAX` seconds (never configured: minutes are `u32`) counts as `i64::MAX`, "never",
/// rather than wrapping into the past; callers add it with `saturating_add`.
pub fn seconds(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// A Unix time as RFC 3339 (UTC).
pub fn rfc3339_at(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(crate::state::rfc3339)
        .unwrap_or_default()
}
