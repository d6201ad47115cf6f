//! `recording finalize|list|upload|prune`: a recorder's recordings (docs/recording.md).

use super::context::{said, say, Context};
use crate::aws::s3::S3;
use crate::cli::RecordingAction;
use crate::paths::Paths;
use crate::recording::{store, upload, RecordingSettings, S3Target};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Each S3 request gives up after this long (a part of 512 MiB on a slow link included).
const S3_TIMEOUT: Duration = Duration::from_secs(600);

/// `meet-agent recording finalize DIR`: places the videos of jibri's session folder and
/// queues their upload; 0 when placed, 1 when not (the message says what stays where).
///
/// It runs as jibri's user, which cannot read meet-agent's configuration or state, and jibri
/// stays busy until it exits: so it takes the paths alone (no [`Context`], no configuration,
/// no secret, no network) and leaves the upload to meet-agent-recording-upload.service.
pub fn finalize(paths: &Paths, dir: &Path) -> u8 {
    let placed = match store::place(paths, dir) {
        Ok(placed) => placed,
        Err(e) => return said(Err(e)),
    };
    if placed.is_empty() {
        println!("no video (*.mp4) in {}; nothing queued", dir.display());
        return 0;
    }
    for r in &placed {
        println!("placed {} ({} bytes)", r.relative, r.bytes);
    }
    match store::queue(paths, &placed, SystemTime::now()) {
        Ok(()) => {
            println!(
                "upload queued: meet-agent-recording-upload.service sends it when recording.s3_bucket is set"
            );
            0
        }
        Err(e) => said(Err(e)),
    }
}

/// `meet-agent recording ...`. `dispatch` runs finalize before any [`Context`] is read;
/// here it is the same call, for completeness.
pub async fn recording(ctx: &Context, action: RecordingAction) -> anyhow::Result<u8> {
    // Everything but finalize needs the configuration (the bucket, keep_days): root's.
    Ok(match action {
        RecordingAction::Finalize { dir } => finalize(&ctx.paths, &dir),
        RecordingAction::Upload => match ctx.effective().await {
            Some(e) => upload_round(ctx, &e.settings.ec2_endpoint, &e.settings.recording).await?,
            None => 1,
        },
        RecordingAction::List { json } => match ctx.effective().await {
            Some(e) => said(list(ctx, &e.settings.recording, json)),
            None => 1,
        },
        RecordingAction::Prune => match ctx.effective().await {
            Some(e) => said(prune(ctx, &e.settings.recording)),
            None => 1,
        },
        RecordingAction::Guard => match ctx.effective().await {
            Some(e) => match super::recording_guard::guard(&ctx.paths, &e.settings.recording).await
            {
                Ok(code) => code,
                Err(e) => said(Err(e)),
            },
            None => 1,
        },
    })
}

/// Deletes what is older than `keep_days`, holding the recordings' lock so that no upload
/// is sending a file while it goes.
fn prune(ctx: &Context, rec: &RecordingSettings) -> anyhow::Result<()> {
    let _lock = store::lock(&ctx.paths)?;
    for r in store::prune(&ctx.paths, rec.keep_days, SystemTime::now())? {
        let queued = match &rec.s3 {
            // keep_days bounds the disk even while uploads keep failing; say what was lost.
            Some(t) => format!("; it was never uploaded to {}", t.url(&r.relative)),
            None => String::new(),
        };
        println!(
            "deleted {} (older than {} days{queued})",
            r.relative, rec.keep_days
        );
    }
    Ok(())
}

/// Uploads what is on disk when a bucket is configured, holding the recordings' lock; 1
/// when any upload failed.
async fn upload_round(ctx: &Context, ec2: &str, rec: &RecordingSettings) -> anyhow::Result<u8> {
    let Some(target) = &rec.s3 else {
        println!(
            "recording.s3_bucket is not set: recordings stay on disk (`meet-agent recording list`)"
        );
        return Ok(0);
    };
    let _lock = match store::lock(&ctx.paths) {
        Ok(lock) => lock,
        Err(e) => return Ok(said(Err(e))),
    };
    let s3 = match client(ec2, target).await {
        Ok(s3) => s3,
        Err(e) => {
            say(format!("{e:#}; the recordings stay on disk, queued"));
            return Ok(1);
        }
    };
    let round = match upload::upload_all(&ctx.paths, target, &s3).await {
        Ok(round) => round,
        Err(e) => return Ok(said(Err(e))),
    };
    for (relative, url) in &round.uploaded {
        println!("uploaded {relative} to {url}");
    }
    for (relative, why) in &round.failed {
        say(format!("{relative} stays queued: {why}"));
    }
    Ok(u8::from(!round.failed.is_empty()))
}

/// The S3 client: the instance role's credentials and region from IMDS.
async fn client(ec2: &str, target: &S3Target) -> anyhow::Result<S3> {
    let imds = Arc::new(crate::aws::imds::Imds::new(ec2, Duration::from_secs(5))?);
    let region = imds.region().await?;
    Ok(S3::new(
        &region,
        &target.bucket,
        target.endpoint.as_deref(),
        imds,
        S3_TIMEOUT,
        target.part_bytes,
    )?)
}

fn list(ctx: &Context, rec: &RecordingSettings, json: bool) -> anyhow::Result<()> {
    let all = store::list(&ctx.paths)?;
    let last = upload::last(&ctx.paths);
    if json {
        let rows: Vec<serde_json::Value> = all
            .iter()
            .map(|r| {
                serde_json::json!({
                    "recording": r.relative,
                    "bytes": r.bytes,
                    "modified": r.modified,
                    "upload": rec.s3.as_ref().map(|t| t.url(&r.relative)),
                    "last_error": last.failed.get(&r.relative),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if all.is_empty() {
        println!("no recordings on disk ({})", store::RECORDINGS);
    }
    for r in &all {
        let state = match (&rec.s3, last.failed.get(&r.relative)) {
            (None, _) => "on disk".to_string(),
            (Some(t), None) => format!("queued for {}", t.url(&r.relative)),
            (Some(t), Some(why)) => {
                format!("queued for {} (last attempt: {why})", t.url(&r.relative))
            }
        };
        let line = format!("{}  {} bytes  {state}", r.relative, r.bytes);
        println!("{}", crate::printable::terminal(&line));
    }
    Ok(())
}
