//! The health policy: which findings are reasons, and how bad the whole is.

use super::report::{CertificateView, DeploymentView, Health, ServicesView, StepView};
use crate::state::{State, StepState};

/// The reasons (each says what to do) and the health they amount to.
pub fn judge(
    state: &State,
    steps: &[StepView],
    certificate: Option<&CertificateView>,
    services: &ServicesView,
    deployment: Option<&DeploymentView>,
    sip: Option<&super::report::SipView>,
) -> (Health, Vec<String>) {
    let mut reasons = Vec::new();
    if let Some(e) = &state.run_error {
        reasons.push(format!("configuration: {e}"));
    }
    for s in steps {
        if matches!(
            s.state,
            StepState::Failed | StepState::Degraded | StepState::Running
        ) || (s.state == StepState::Pending && state.last_run_at.is_some())
        {
            reasons.push(format!("{}: {}", s.name, s.message));
        }
    }
    let bridge_only = deployment.is_some_and(|d| d.role.joins());
    match certificate {
        // A videobridge serves no web site: no certificate is expected there.
        None if bridge_only => {}
        None => reasons.push("certificate: none installed".into()),
        Some(CertificateView { error: Some(e), .. }) => reasons.push(format!("certificate: {e}")),
        _ => {}
    }
    for unit in &services.units {
        if unit.active_state == "failed" {
            reasons.push(format!(
                "{}: failed; see `journalctl -u {}`",
                unit.name, unit.name
            ));
        }
    }
    if let Some(d) = deployment {
        reasons.extend(deployment_reasons(d));
    }
    if let Some(s) = sip {
        reasons.extend(super::sip::reasons(s));
    }
    let any = |st: StepState| steps.iter().any(|s| s.state == st);
    let health = if state.last_run_at.is_none() {
        reasons.insert(0, "meet-agent run has not run on this machine".into());
        Health::NotRun
    } else if state.run_error.is_some() || any(StepState::Failed) {
        Health::Failed
    } else if reasons.is_empty() {
        Health::Healthy
    } else {
        Health::Degraded
    };
    (health, reasons)
}

/// What is wrong in a deployment: jicofo's or the bridge's answer, a bridge that has not
/// joined (and why, from the probe), a signaling node without an operational bridge.
fn deployment_reasons(d: &DeploymentView) -> Vec<String> {
    let mut reasons = Vec::new();
    if let Some(e) = &d.error {
        reasons.push(format!("deployment: {e}"));
    }
    if let Some(e) = &d.jicofo_unhealthy {
        reasons.push(format!("deployment: {e}"));
    }
    if let Some(b) = &d.bridge {
        if b.mucs_joined == 0 {
            reasons.push(
                "deployment: this bridge has not joined its signaling node's brewery (check bridge.join, that the signaling node's firewall lets this address reach 5222, and `journalctl -u jitsi-videobridge2`)"
                    .into(),
            );
        }
    }
    // Why a bridge has not joined (or may not, when its stats do not answer). A bridge
    // that has joined is connected whatever the probe met, so it is no reason then.
    let joined = d.bridge.as_ref().is_some_and(|b| b.mucs_joined > 0);
    if let Some(p) = d.signaling.as_ref().filter(|p| !p.ok() && !joined) {
        reasons.push(format!("deployment: {}", p.message));
    }
    if let Some(seen) = &d.bridges {
        if seen.operational_bridge_count == 0 {
            reasons.push(
                "deployment: jicofo sees no operational videobridge, so no meeting can start (start a bridge with this node's `meet-agent bridge token`, or set bridges.local = true)"
                    .into(),
            );
        }
        reasons.extend(
            crate::jitsi::jicofo_api::problems(&seen.list)
                .into_iter()
                .map(|p| format!("deployment: {p}")),
        );
    }
    if let Some(seen) = &d.recorders {
        reasons.extend(seen.list.iter().filter(|r| !r.healthy).map(|r| {
            format!(
                "deployment: recorder {} reports itself unhealthy; see `journalctl -u jibri` there",
                r.id
            )
        }));
    }
    if let Some(why) = d
        .recorder
        .as_ref()
        .and_then(|r| r.guard.as_ref())
        .and_then(|g| g.refusal())
    {
        reasons.push(format!("deployment: {why}"));
    }
    match d.recorder.as_ref().map(|r| (&r.jibri, &r.jibri_error)) {
        Some((None, Some(e))) => reasons.push(format!("deployment: {e}")),
        Some((Some(h), _)) if !h.healthy => reasons.push(
            "deployment: jibri reports itself unhealthy, so jicofo gives it no recording; see `journalctl -u jibri`"
                .into(),
        ),
        _ => {}
    }
    reasons
}
