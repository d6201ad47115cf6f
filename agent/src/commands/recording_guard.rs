//! `recording guard`: the disk guard's round (see [`crate::recording::guard`]).

use super::context::say;
use crate::fsutil::{read_json, write_atomic};
use crate::jitsi::jibri_api;
use crate::paths::Paths;
use crate::recording::guard::{self, GuardState, Verdict};
use crate::recording::RecordingSettings;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long each of jibri's and systemd's answers may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Measures, acts, keeps the verdict; 0 when the round did what the verdict asks, 1 when
/// jibri or systemd could not be told (the next round tries again).
pub async fn guard(paths: &Paths, rec: &RecordingSettings) -> anyhow::Result<u8> {
    let free = guard::free_bytes(paths, crate::recording::spool::SPOOL)?;
    let file = paths.join(guard::STATE);
    let mut state: GuardState = read_json(&file).unwrap_or_default();
    let jibri = jibri_api::Jibri::local(TIMEOUT).map_err(anyhow::Error::msg)?;
    let health = jibri.health().await;
    let busy = health.as_ref().is_ok_and(|h| h.busy == "busy");
    let min = rec.min_free_bytes;
    let mut failed = Vec::new();
    let verdict = guard::judge(free, min, state.refused, busy);
    match verdict {
        Verdict::StopNow | Verdict::Refuse => {
            if verdict == Verdict::StopNow {
                match jibri.stop_service().await {
                    Ok(()) => state.stopped_recording = true,
                    Err(e) => failed.push(e),
                }
            }
            // Only a running jibri can be told; one that exited stays down (systemd does
            // not restart its exit 255) until the guard starts it.
            if health.is_ok() {
                if let Err(e) = jibri.graceful_shutdown().await {
                    failed.push(e);
                }
            }
            if !state.refused {
                state.since = now();
            }
            state.refused = true;
        }
        Verdict::Room if state.refused => match start_jibri().await {
            Ok(()) => state = GuardState::default(),
            Err(e) => failed.push(format!("{e:#}")),
        },
        Verdict::Room => {}
    }
    state.free_bytes = free;
    state.min_free_bytes = min;
    write_atomic(&file, &serde_json::to_vec_pretty(&state)?, 0o644)?;
    match state.refusal() {
        Some(why) => say(why),
        None => println!(
            "{} free for recordings (recording.min_free_mib: {}): jibri may record",
            crate::printable::human_bytes(free),
            crate::printable::human_bytes(min)
        ),
    }
    for e in &failed {
        say(format!("{e}; the next round tries again"));
    }
    Ok(u8::from(!failed.is_empty()))
}

/// Starts jibri.service (after a refusal jibri has exited, and systemd does not restart
/// it by itself).
async fn start_jibri() -> anyhow::Result<()> {
    let systemd = crate::systemd::dbus::Systemd::connect().await?;
    systemd
        .start(crate::vocab::Service::Jibri.unit())
        .await
        .map_err(|e| anyhow::anyhow!("jibri.service could not be started again: {e:#}"))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
