//! Recordings made by jibri on a recorder: placing each finished one under
//! `/var/lib/ryo-jitsi/recordings/<room>/<time>.mp4` ([`store`]), uploading them to S3 and
//! deleting the local copy only once S3 confirmed it ([`upload`]), and pruning what stays
//! on disk after `recording.keep_days`; and whether this machine has jibri's runtime
//! ([`runtime`]).

pub mod guard;
pub mod runtime;
pub mod settings;
pub mod spool;
pub mod store;
pub mod upload;

pub use settings::{RecordingSettings, S3Target};
