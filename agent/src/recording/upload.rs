//! Uploading recordings to S3. The queue is the recordings folder itself: while
//! `recording.s3_bucket` is set, every recording on disk is waiting for its upload, and
//! its local copy is deleted only after S3 confirmed the object (the upload's digests
//! checked, [`crate::aws::s3`]). An upload killed half-way, a network or IAM failure, a
//! full disk elsewhere: the file stays, and the next `meet-agent recording upload`
//! (meet-agent-recording-upload.service: started when finalize queues a recording, a few
//! minutes after boot and every 15 minutes) sends it again.

use super::store::{self, Recording};
use super::S3Target;
use crate::aws::s3::S3;
use crate::paths::Paths;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The last upload round's failures, for `recording list`.
pub const LAST: &str = "/var/lib/meet-agent/recording-upload.json";

/// What one round did.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Round {
    /// `<room>/<time>.mp4` -> `s3://bucket/key`, uploaded and deleted locally.
    pub uploaded: BTreeMap<String, String>,
    /// `<room>/<time>.mp4` -> why it is still waiting.
    pub failed: BTreeMap<String, String>,
}

/// Uploads every recording on disk to `target` with `s3`; deletes each local copy once S3
/// confirmed it. Failures are recorded (and returned) and do not stop the others. The
/// caller holds [`store::lock`].
///
/// The folder is listed again until a listing holds nothing this round has tried: a
/// recording finalized while the round runs is sent by it, since its path unit cannot
/// start a second round of a service that is still running.
pub async fn upload_all(paths: &Paths, target: &S3Target, s3: &S3) -> Result<Round> {
    let mut round = Round::default();
    loop {
        let fresh: Vec<Recording> = store::list(paths)?
            .into_iter()
            .filter(|r| {
                !round.uploaded.contains_key(&r.relative) && !round.failed.contains_key(&r.relative)
            })
            .collect();
        if fresh.is_empty() {
            break;
        }
        for recording in fresh {
            match upload_one(target, s3, &recording).await {
                Ok(url) => {
                    round.uploaded.insert(recording.relative.clone(), url);
                }
                Err(e) => {
                    tracing::warn!("recording {}: {e:#}", recording.relative);
                    round
                        .failed
                        .insert(recording.relative.clone(), format!("{e:#}"));
                }
            }
        }
    }
    save(paths, &round)?;
    Ok(round)
}

async fn upload_one(target: &S3Target, s3: &S3, recording: &Recording) -> Result<String> {
    let key = target.key(&recording.relative);
    let uploaded = s3.upload_file(&recording.path, &key).await?;
    if uploaded.bytes != recording.bytes {
        // Written to while uploading: jibri had not finished it. Keep it for the next round.
        anyhow::bail!(
            "{} changed size during its upload ({} -> {} bytes); it stays queued",
            recording.path.display(),
            recording.bytes,
            uploaded.bytes
        );
    }
    std::fs::remove_file(&recording.path).with_context(|| {
        format!(
            "uploaded to {}, but cannot delete the local copy {}",
            target.url(&recording.relative),
            recording.path.display()
        )
    })?;
    if let Some(dir) = recording.path.parent() {
        crate::fsutil::sync_dir(dir)?;
    }
    Ok(target.url(&recording.relative))
}

fn save(paths: &Paths, round: &Round) -> Result<()> {
    let mut text = serde_json::to_string_pretty(round)?;
    text.push('\n');
    crate::fsutil::write_atomic(&paths.join(LAST), text.as_bytes(), 0o644)?;
    Ok(())
}

/// The last round's record, if any.
pub fn last(paths: &Paths) -> Round {
    crate::fsutil::read_json(&paths.join(LAST)).unwrap_or_default()
}
