//! `meet-agent scale`: the long-running part of a videobridge or a recorder in an AWS Auto
//! Scaling group (`meet-agent-scale.service`, started by the start step when `server.role
//! = "videobridge"` or `"recorder"` and `bridge.drain_hook` is set). It publishes the
//! bridge's stress level (a recorder's busy state) to CloudWatch at most once a minute
//! (the group's scaling signal) and watches the instance's lifecycle state and spot
//! notices; on scale-in it drains the bridge (lets jibri finish its recording), completes
//! the lifecycle action and powers off through logind.

use super::drain::{hook_bounds, Logind, Runner};
use super::metrics::{self, Publisher};
use super::workload::Workload;
use crate::aws::api::{Aws, Endpoints, LifecycleAction};
use crate::aws::imds::Imds;
use crate::bridge::roles::RoleSettings;
use crate::jitsi::videobridge_api::Bridge;
use crate::vocab::Role;
use anyhow::{anyhow, Result};
use std::sync::Arc;
use std::time::Duration;

/// Where the service reaches AWS and the bridge, from configuration
/// (`source.aws_endpoint`, `schedule.videobridge_stats_url`).
#[derive(Debug, Clone)]
pub struct Services {
    /// One base URL for CloudWatch, Auto Scaling and SSM instead of the region's.
    pub aws_endpoint: Option<String>,
    /// The videobridge's `/colibri/stats` URL (its REST API's base is taken from it).
    pub videobridge_stats_url: String,
}

/// What the service last did, as status shows it (`/run/meet-agent/scale.json`).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// The last stress report's outcome.
    pub metric: String,
    /// The scale-in state.
    pub drain: String,
    /// When either changed (RFC 3339).
    pub updated_at: String,
}

/// Saves `report` for status (a failure costs only the status line).
fn save(paths: &crate::paths::Paths, report: &Report) {
    if let Ok(text) = serde_json::to_vec(report) {
        if let Err(e) = crate::fsutil::write_atomic(&paths.scale_file(), &text, 0o644) {
            tracing::warn!("cannot save the scaling state for status: {e:#}");
        }
    }
}

/// Why the loaded configuration does not want the service, if it does not: it runs only on
/// a videobridge or a recorder with `bridge.drain_hook`.
pub fn not_wanted(roles: &RoleSettings) -> Option<String> {
    if !matches!(roles.role, Role::Videobridge | Role::Recorder) {
        return Some(format!(
            "this machine's role is \"{}\", not \"videobridge\" or \"recorder\"",
            roles.role.as_str()
        ));
    }
    if roles.drain_hook.is_none() {
        return Some("bridge.drain_hook is not set (no Auto Scaling lifecycle hook)".into());
    }
    None
}

/// This instance's region, id and Auto Scaling group, from the instance metadata.
async fn membership(imds: &Imds) -> Result<(String, String, String)> {
    let region = imds.region().await?;
    let instance_id = imds.instance_id().await?;
    let group = imds.autoscaling_group().await?.ok_or_else(|| {
        anyhow!(
            "this instance's metadata names no Auto Scaling group: it is not in one, or the launch template leaves instance tags out of the metadata (InstanceMetadataTags: enabled)"
        )
    })?;
    Ok((region, instance_id, group))
}

/// Runs until the machine powers off (scale-in or a spot interruption). When the
/// configuration does not want it (see [`not_wanted`]) it says so and returns at once: a
/// success, so that systemd does not restart it and the start step's stop is not a failure.
///
/// `roles` are this machine's role settings; `ec2_endpoint` is `source.ec2_endpoint`.
pub async fn run(
    paths: &crate::paths::Paths,
    roles: &RoleSettings,
    ec2_endpoint: &str,
    services: &Services,
) -> Result<()> {
    if let Some(why) = not_wanted(roles) {
        tracing::info!("meet-agent scale has nothing to do: {why}; exiting");
        return Ok(());
    }
    let hook = roles.drain_hook.clone().ok_or_else(|| {
        anyhow!("bridge.drain_hook is not set: name the Auto Scaling group's termination lifecycle hook")
    })?;
    let timeout = Duration::from_secs(5);
    let imds = Arc::new(Imds::new(ec2_endpoint, timeout)?);
    let (region, instance_id, group) = membership(&imds).await?;
    let endpoints = match &services.aws_endpoint {
        Some(base) => Endpoints::same(base),
        None => Endpoints::for_region(&region),
    };
    let aws = Arc::new(Aws::new(&region, endpoints, imds.clone(), timeout)?);
    let action = LifecycleAction {
        group,
        hook,
        instance_id,
    };
    let site = Site {
        paths,
        imds,
        aws,
        action,
        region,
    };
    if roles.role == Role::Recorder {
        let jibri = crate::jitsi::jibri_api::Jibri::local(timeout).map_err(|e| anyhow!(e))?;
        serve(site, jibri, metrics::Settings::recorders()).await
    } else {
        let bridge = Bridge::at_stats_url(&services.videobridge_stats_url, timeout)?;
        serve(site, bridge, metrics::Settings::default()).await
    }
}

/// What the scaling loops share: where they are and whom they report to.
struct Site<'p> {
    paths: &'p crate::paths::Paths,
    imds: Arc<Imds>,
    aws: Arc<Aws>,
    action: LifecycleAction,
    region: String,
}

/// Publishes `workload`'s signal and drains it at scale-in, until the power-off.
async fn serve<W: Workload + Clone>(
    site: Site<'_>,
    workload: W,
    settings: metrics::Settings,
) -> Result<()> {
    let Site {
        paths,
        imds,
        aws,
        action,
        region,
    } = site;
    tracing::info!(
        "scaling: {} in group {} ({region}), lifecycle hook {}; publishing {} every minute",
        action.instance_id,
        action.group,
        action.hook,
        settings.metric
    );
    let publisher = Publisher::new(workload.clone(), aws.clone(), &action.group, settings);
    // The hook says how long a drain may take; read once at start (a hook changed later
    // applies after the service restarts).
    let (bounds, line) = hook_bounds(&aws, &action).await;
    tracing::info!("{line}");
    let runner = Runner::new(
        imds,
        aws,
        workload,
        action,
        bounds,
        // AWS's advice for spot notices: look every 5 s.
        Duration::from_secs(5),
        Logind,
    );
    // Both loops report here; each change is logged once and saved for status.
    let report = std::sync::Mutex::new(Report::default());
    let note = |metric: Option<String>, drain: Option<String>| {
        let Ok(mut r) = report.lock() else { return };
        let mut changed = false;
        if let Some(line) = metric.filter(|l| *l != r.metric) {
            tracing::info!("metric: {line}");
            r.metric = line;
            changed = true;
        }
        if let Some(line) = drain.filter(|l| *l != r.drain) {
            tracing::info!("drain: {line}");
            r.drain = line;
            changed = true;
        }
        if changed {
            r.updated_at = crate::state::now_rfc3339();
            save(paths, &r);
        }
    };
    tokio::select! {
        // "Not due yet" is no news for status: only what was sent, skipped or failed.
        () = publisher.run(Duration::from_secs(5), |outcome| {
            if !matches!(outcome, crate::scale::metrics::Outcome::NotDue { .. }) {
                note(Some(outcome.status()), None);
            }
        }) => Ok(()),
        () = runner.run(|decision| note(None, Some(decision.status()))) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::Report;

    /// scale.json as the service writes it today loads for status and is written back the
    /// same.
    #[test]
    fn a_scale_file_in_the_format_on_disk_loads() {
        let on_disk = r#"{"metric":"stress level 0.42 reported to CloudWatch","drain":"in service","updated_at":"2026-12-04T18:00:00Z"}"#;
        let r: Report = serde_json::from_str(on_disk).expect("loads");
        assert_eq!(r.drain, "in service");
        assert_eq!(serde_json::to_string(&r).expect("writes"), on_disk);
    }
}
