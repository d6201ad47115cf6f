//! `recording finalize|list|upload|prune`: a recorder's recordings (docs/recording.md).

use super::context::{said, say, Context};
use crate::aws::s3::S3;
use crate::cli::RecordingAction;
use crate::recording::{store, upload, RecordingSettings, S3Target};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Each S3 request gives up after this long (a part of 512 MiB on a slow link included).
const S3_TIMEOUT: Duration = Duration::from_secs(600);

/// `meet-agent recording ...`.
pub async fn recording(ctx: &Context, action: RecordingAction) -> anyhow::Result<u8> {
    let Some(effective) = ctx.effective().await else {
        return Ok(1);
    };
    let settings = &effective.settings;
    let rec = &settings.recording;
    match action {
        RecordingAction::Finalize { dir } => {
            let placed = match store::place(&ctx.paths, &dir) {
                Ok(placed) => placed,
                Err(e) => return Ok(said(Err(e))),
            };
            for r in &placed {
                println!("placed {} ({} bytes)", r.relative, r.bytes);
            }
            upload_round(ctx, &settings.ec2_endpoint, rec).await
        }
        RecordingAction::Upload => upload_round(ctx, &settings.ec2_endpoint, rec).await,
        RecordingAction::List { json } => Ok(said(list(ctx, rec, json))),
        RecordingAction::Prune => {
            let gone = store::prune(&ctx.paths, rec.keep_days, SystemTime::now());
            Ok(said(gone.map(|gone| {
                for r in gone {
                    println!("deleted {} (older than {} days)", r.relative, rec.keep_days);
                }
            })))
        }
    }
}

/// Uploads what is on disk when a bucket is configured; 1 when any upload failed.
async fn upload_round(ctx: &Context, ec2: &str, rec: &RecordingSettings) -> anyhow::Result<u8> {
    let Some(target) = &rec.s3 else {
        return Ok(0);
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
