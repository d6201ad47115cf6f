//! `[recording]` as configuration settles it (config builds [`RecordingSettings`]).

/// Where recordings go and how long they stay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordingSettings {
    /// Upload finished recordings here; `None` keeps them on disk.
    pub s3: Option<S3Target>,
    /// Delete recordings on disk older than this many days (0: keep them).
    pub keep_days: u32,
    /// A recorder also runs on this all-in-one or signaling node (`recording.local`).
    pub local: bool,
    /// jibri's `rtmp-allow-list`: whole-URL Java regular expressions; empty: no streaming.
    pub rtmp_allow: Vec<String>,
    /// Free space below which recordings are refused (`recording.min_free_mib`).
    pub min_free_bytes: u64,
}

/// The fewest CPUs a machine running jibri may have: one recording takes a whole
/// browser decoding every stream and ffmpeg encoding in real time (upstream runs one
/// jibri per machine of 4 vCPU or more).
pub const RECORDER_MIN_CPUS: usize = 4;

/// The ingest URLs of the well-known live streaming services, the default of
/// `recording.rtmp_allow`: YouTube (jibri turns a bare stream key into
/// `rtmp://a.rtmp.youtube.com/live2/KEY`), Twitch and Facebook. Patterns are Java regular
/// expressions matched against the whole URL, as jibri's `rtmp-allow-list` uses them.
pub const WELL_KNOWN_RTMP: [&str; 4] = [
    r"rtmps?://a\.rtmps?\.youtube\.com(:\d+)?/live2/[^/]+",
    r"rtmps?://[a-z0-9-]+\.contribute\.live-video\.net(:\d+)?/app/[^/]+",
    r"rtmps?://live\.twitch\.tv(:\d+)?/app/[^/]+",
    r"rtmps://live-api-s\.facebook\.com(:\d+)?/rtmp/[^/]+",
];

impl RecordingSettings {
    /// Live streaming is offered (some target is allowed).
    pub fn streaming(&self) -> bool {
        !self.rtmp_allow.is_empty()
    }
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
