//! `[recording]` as configuration settles it (config builds [`RecordingSettings`]).

/// Where recordings go and how long they stay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordingSettings {
    /// Upload finished recordings here; `None` keeps them on disk.
    pub s3: Option<S3Target>,
    /// Delete recordings on disk older than this many days (0: keep them).
    pub keep_days: u32,
}

/// An S3 bucket (or an S3-compatible store) and where in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Target {
    /// `recording.s3_bucket`.
    pub bucket: String,
    /// `recording.s3_prefix`: prepended to `<room>/<time>.mp4` (empty or ending in `/`).
    pub prefix: String,
    /// `recording.s3_endpoint`: an S3-compatible store's URL, path-style; `None`: AWS.
    pub endpoint: Option<String>,
    /// Files larger than this go up in parts of this size (bytes).
    pub part_bytes: usize,
}

impl S3Target {
    /// The object key of a recording at `relative` (`<room>/<time>.mp4`).
    pub fn key(&self, relative: &str) -> String {
        format!("{}{relative}", self.prefix)
    }

    /// `s3://bucket/key`, for messages and `recording list`.
    pub fn url(&self, relative: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.key(relative))
    }
}
