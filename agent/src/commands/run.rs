//! `run` and `renew`: the first-boot pipeline, all of it or the steps a renewal needs.

use super::context::{say, Context};
use crate::apply::Bus;
use crate::pipeline::{self, AfterReady, RunResult, Selection, StepFuture, StepName};

/// `meet-agent run [--step STEP]`.
pub async fn run(ctx: &Context, only: Option<StepName>) -> anyhow::Result<u8> {
    pipeline_run(ctx, only.map_or(Selection::All, Selection::Only)).await
}

/// `meet-agent renew [--retry]`.
pub async fn renew(ctx: &Context, retry: bool) -> anyhow::Result<u8> {
    let selection = if retry {
        Selection::Retry
    } else {
        Selection::Renew
    };
    pipeline_run(ctx, selection).await
}

async fn pipeline_run(ctx: &Context, selection: Selection) -> anyhow::Result<u8> {
    let banner = Banner(ctx);
    let facts = ctx.facts.as_ref();
    let ran = pipeline::run(&ctx.paths, &ctx.local, facts, selection, &banner).await;
    Ok(match ran {
        Ok(RunResult::Completed) => 0,
        Ok(RunResult::StepFailed) => 1,
        Ok(RunResult::NotStarted) => 2,
        // An expected failure (a full disk), not a bug: reported as a failed step is.
        // Also expected: something planted at the run lock's path; the sentence names it
        // and says to remove it.
        Err(e)
            if e.downcast_ref::<crate::state::SaveError>().is_some()
                || e.downcast_ref::<crate::fsutil::LockRefused>().is_some() =>
        {
            say(format!("{e:#}"));
            1
        }
        Err(e) => return Err(e),
    })
}

/// The console's pre-login summary (agetty shows it above the login prompt), written once
/// the run has sent READY. Here rather than in the pipeline: `status` renders it, and
/// `status` reads the pipeline's step names, so the pipeline imports neither.
struct Banner<'c>(&'c Context);

impl AfterReady for Banner<'_> {
    fn after_ready<'r>(&'r self, bus: &'r mut Bus) -> StepFuture<'r, ()> {
        Box::pin(write_banner(self.0, bus))
    }
}

/// Writes the banner and asks running agettys to show it again. A failure costs only the
/// banner.
async fn write_banner(ctx: &Context, bus: &mut Bus) {
    let paths = &ctx.paths;
    // A prosody started by this run listens a moment after READY; the banner says what
    // the server is once it does, not while it starts (on a machine running prosody, on
    // this machine's own root).
    let prosody_runs = match bus.systemd().await {
        Ok(systemd) => systemd
            .unit_status(crate::apply::Service::Prosody.unit())
            .await
            .is_ok_and(|u| matches!(u.active_state.as_str(), "active" | "activating")),
        Err(_) => false,
    };
    if prosody_runs && paths.root() == std::path::Path::new("/") {
        let limit = std::time::Duration::from_secs(15);
        if !crate::jitsi::prosody::listening(limit).await {
            tracing::warn!(
                "prosody does not listen on 127.0.0.1 after {limit:?}; the banner says so"
            );
        }
    }
    let reach = crate::status::Reach::Local;
    let report = match crate::status::collect_over(paths, ctx.seen(), bus, reach).await {
        Ok(report) => report,
        Err(e) => {
            tracing::warn!("no console banner: {e:#}");
            return;
        }
    };
    let text = crate::access::issue_text(&crate::status::render_brief(&report));
    let issue = paths.join(crate::access::ISSUE);
    if let Err(e) = crate::fsutil::write_atomic(&issue, format!("{text}\n").as_bytes(), 0o644) {
        tracing::warn!("no console banner: {e:#}");
        return;
    }
    // What `agetty --reload` does: touch the file running agettys watch.
    let reload = paths.join("/run/agetty.reload");
    if reload.exists() {
        let _ = std::fs::OpenOptions::new().write(true).open(&reload);
    }
}
