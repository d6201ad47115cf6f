//! `[recording]`: the bucket, prefix and endpoint checked, and [`RecordingSettings`] built.

use super::schema::Recording;
use crate::recording::{RecordingSettings, S3Target};
use crate::well_formed::check_url;
use anyhow::Result;

/// Checks `[recording]`; errors name the key (through `fail`).
pub fn validate(
    r: &Recording,
    fail: &dyn Fn(&str, String) -> anyhow::Error,
) -> Result<RecordingSettings> {
    if !(5..=512).contains(&r.s3_part_mib) {
        return Err(fail(
            "recording.s3_part_mib",
            format!(
                "{} is outside 5 to 512 (S3's smallest part is 5 MiB)",
                r.s3_part_mib
            ),
        ));
    }
    if !(1..=1_048_576).contains(&r.min_free_mib) {
        return Err(fail(
            "recording.min_free_mib",
            format!(
                "{} is outside 1 to 1048576 (MiB of free space below which recordings are refused; 4096 by default)",
                r.min_free_mib
            ),
        ));
    }
    if r.keep_days > 36_500 {
        return Err(fail(
            "recording.keep_days",
            format!(
                "{} days is more than a century; 0 keeps recordings",
                r.keep_days
            ),
        ));
    }
    if let Some(endpoint) = &r.s3_endpoint {
        check_url(endpoint).map_err(|reason| fail("recording.s3_endpoint", reason))?;
    }
    let prefix_ok = r.s3_prefix.is_empty()
        || (r.s3_prefix.ends_with('/')
            && !r.s3_prefix.starts_with('/')
            && r.s3_prefix.len() <= 512
            && !r.s3_prefix.split('/').any(|p| p == "." || p == "..")
            && r.s3_prefix.chars().all(|c| !c.is_control()));
    if !prefix_ok {
        return Err(fail(
            "recording.s3_prefix",
            format!(
                "`{}` must be empty or end in `/`, not start with `/`, have no `.` or `..` part and at most 512 characters, e.g. \"recordings/\"",
                r.s3_prefix.escape_debug()
            ),
        ));
    }
    let s3 = match &r.s3_bucket {
        None => {
            if r.s3_endpoint.is_some() {
                return Err(fail(
                    "recording.s3_endpoint",
                    "is set but recording.s3_bucket is not; name the bucket".into(),
                ));
            }
            None
        }
        Some(bucket) => {
            check_bucket(bucket).map_err(|reason| fail("recording.s3_bucket", reason))?;
            Some(S3Target {
                bucket: bucket.clone(),
                prefix: r.s3_prefix.clone(),
                endpoint: r.s3_endpoint.clone(),
                part_bytes: (r.s3_part_mib as usize) << 20,
            })
        }
    };
    Ok(RecordingSettings {
        s3,
        keep_days: r.keep_days,
        local: r.local,
        rtmp_allow: rtmp_allow(r, fail)?,
        min_free_bytes: u64::from(r.min_free_mib) << 20,
    })
}

/// Most patterns `recording.rtmp_allow` takes: jibri matches each streaming URL against
/// all of them.
const MAX_RTMP_PATTERNS: usize = 32;
/// Longest pattern accepted.
const MAX_RTMP_PATTERN: usize = 256;

/// `recording.rtmp_allow`, or the well-known services when unset. Each pattern must be
/// printable text of sensible length; that it is a valid Java regular expression can only
/// be known to jibri, which logs a bad one when it starts.
fn rtmp_allow(r: &Recording, fail: &dyn Fn(&str, String) -> anyhow::Error) -> Result<Vec<String>> {
    let Some(patterns) = &r.rtmp_allow else {
        return Ok(crate::recording::settings::WELL_KNOWN_RTMP
            .iter()
            .map(|p| p.to_string())
            .collect());
    };
    if patterns.len() > MAX_RTMP_PATTERNS {
        return Err(fail(
            "recording.rtmp_allow",
            format!(
                "has {} patterns, more than {MAX_RTMP_PATTERNS}; merge them with `|`",
                patterns.len()
            ),
        ));
    }
    for (i, p) in patterns.iter().enumerate() {
        if p.is_empty() || p.len() > MAX_RTMP_PATTERN || p.chars().any(char::is_control) {
            return Err(fail(
                "recording.rtmp_allow",
                format!(
                    "entry {} must be 1 to {MAX_RTMP_PATTERN} printable characters, a pattern for whole rtmp:// or rtmps:// URLs such as \"rtmps://live\\\\.example\\\\.org/app/.*\"",
                    i + 1
                ),
            ));
        }
    }
    Ok(patterns.clone())
}

/// S3's bucket naming rules: 3 to 63 lower-case letters, digits, dots and hyphens,
/// starting and ending with a letter or digit, and not an IP address.
fn check_bucket(bucket: &str) -> Result<(), String> {
    let chars_ok = bucket
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let ends_ok = bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !(3..=63).contains(&bucket.len()) || !chars_ok || !ends_ok || bucket.contains("..") {
        return Err(format!(
            "`{}` is not an S3 bucket name (3 to 63 lower-case letters, digits, `.` and `-`, starting and ending with a letter or digit)",
            bucket.escape_debug()
        ));
    }
    if bucket.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(format!(
            "`{bucket}` looks like an IP address, which S3 refuses as a bucket name"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(r: Recording) -> Result<RecordingSettings, String> {
        let fail = |key: &str, reason: String| anyhow::anyhow!("{key}: {reason}");
        validate(&r, &fail).map_err(|e| e.to_string())
    }

    #[test]
    fn a_bucket_with_a_prefix_becomes_a_target() {
        let s = check(Recording {
            s3_bucket: Some("meet-recordings".into()),
            s3_prefix: "rec/".into(),
            ..Recording::default()
        })
        .unwrap();
        let s3 = s.s3.unwrap();
        assert_eq!(s3.key("room/t.mp4"), "rec/room/t.mp4");
        assert_eq!(s3.part_bytes, 16 << 20);
        assert_eq!(s.keep_days, 30);
    }

    #[test]
    fn bad_values_name_their_key() {
        for (r, key) in [
            (
                Recording {
                    s3_bucket: Some("Bad_Bucket".into()),
                    ..Recording::default()
                },
                "recording.s3_bucket",
            ),
            (
                Recording {
                    s3_bucket: Some("192.168.1.1".into()),
                    ..Recording::default()
                },
                "recording.s3_bucket",
            ),
            (
                Recording {
                    s3_bucket: Some("ok-bucket".into()),
                    s3_prefix: "/abs/".into(),
                    ..Recording::default()
                },
                "recording.s3_prefix",
            ),
            (
                Recording {
                    s3_bucket: Some("ok-bucket".into()),
                    s3_prefix: "a/../".into(),
                    ..Recording::default()
                },
                "recording.s3_prefix",
            ),
            (
                Recording {
                    s3_endpoint: Some("http://127.0.0.1:9000".into()),
                    ..Recording::default()
                },
                "recording.s3_endpoint",
            ),
            (
                Recording {
                    s3_part_mib: 4,
                    ..Recording::default()
                },
                "recording.s3_part_mib",
            ),
        ] {
            let e = check(r).unwrap_err();
            assert!(e.starts_with(key), "{e}");
        }
    }
}
