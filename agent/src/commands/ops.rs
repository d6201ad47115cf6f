//! `shutdown` and `idle-check`: powering off without cutting a meeting short.

use super::context::{say, Context};
use crate::effective::OpsSettings;
use crate::ops;
use std::time::Duration;

/// The settings the operations commands act on, from this boot's effective configuration
/// (never asking the instance source again), or the one-line reason they cannot be had
/// (printed).
pub(super) async fn ops_settings(ctx: &Context) -> Option<OpsSettings> {
    match crate::effective::ops_settings(&ctx.paths, ctx.facts.as_ref(), &ctx.local).await {
        Ok(settings) => Some(settings),
        Err(e) => {
            say(format!("{e:#}"));
            None
        }
    }
}

fn endpoints(s: &OpsSettings) -> ops::stats::Endpoints {
    ops::stats::Endpoints {
        videobridge: s.schedule.videobridge_stats_url.clone(),
        jicofo: s.schedule.jicofo_stats_url.clone(),
    }
}

/// How long a configured minute lasts (`schedule.minute_seconds`, 60 but in tests).
fn minute(s: &OpsSettings) -> Duration {
    Duration::from_secs(s.schedule.minute_seconds)
}

/// `meet-agent shutdown [--reboot] [--if-required] [--reason TEXT]`.
pub async fn shutdown(
    ctx: &Context,
    reboot: bool,
    if_required: bool,
    reason: &str,
) -> anyhow::Result<u8> {
    if if_required && !ctx.paths.join(crate::pipeline::REBOOT_REQUIRED).exists() {
        println!("no reboot required");
        return Ok(0);
    }
    let Some(s) = ops_settings(ctx).await else {
        return Ok(1);
    };
    let minute = minute(&s);
    let mut limit = minute * s.schedule.postpone_limit_minutes;
    if reboot {
        // A reboot for updates stays inside its maintenance window.
        limit = limit.min(minute * s.updates.reboot_window_minutes);
    }
    let policy = ops::shutdown::Policy {
        step: minute * s.schedule.postpone_minutes,
        limit,
        endpoints: endpoints(&s),
        minute,
    };
    let action = if reboot {
        ops::power::Action::Reboot
    } else {
        ops::power::Action::PowerOff
    };
    match ops::shutdown::run(&ctx.paths, action, reason, &policy).await {
        Ok(ops::shutdown::Ended::Requested) => Ok(0),
        Ok(ops::shutdown::Ended::GaveUp) => Ok(1),
        Err(e) => {
            say(format!("{e:#}"));
            Ok(1)
        }
    }
}

/// `meet-agent idle-check`.
pub async fn idle_check(ctx: &Context) -> anyhow::Result<u8> {
    let Some(s) = ops_settings(ctx).await else {
        return Ok(1);
    };
    if s.schedule.idle_shutdown_minutes == 0 {
        println!("idle shutdown is off (schedule.idle_shutdown_minutes = 0)");
        return Ok(0);
    }
    let checked = ops::idle::check(
        &ctx.paths,
        ctx.facts.as_ref(),
        s.schedule.idle_shutdown_minutes,
        &endpoints(&s),
        minute(&s),
    )
    .await;
    Ok(super::context::said(checked))
}
