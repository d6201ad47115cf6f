//! Collecting the report: the state file, the installed certificate, systemd's units,
//! the operations commands' records and the deployment.

use super::report::{
    CertificateView, ImageInfo, OperationsView, Reach, Report, SecretsView, Seen, ServicesView,
    StepView, SCHEMA,
};
use crate::paths::Paths;
use crate::pipeline::StepName;
use crate::state::{State, StepState};
use crate::systemd::STACK_UNITS;
use crate::tls;

/// Builds the report from the state file, the installed certificate and systemd (asked
/// over `bus`), looking only as far as `reach`.
pub async fn collect_over(
    paths: &Paths,
    seen: Seen<'_>,
    bus: &mut crate::apply::Bus,
    reach: Reach,
) -> anyhow::Result<Report> {
    let state = State::load(&paths.state_file())?;
    let steps = steps(&state);
    let certificate = certificate(paths);
    let services = services(bus).await;
    let image: Option<ImageInfo> = crate::fsutil::read_json(&paths.image_info());
    let (deployment, sip) = tokio::join!(
        super::deployment::collect(paths, seen, reach),
        super::sip::collect(paths, reach)
    );
    let (health, reasons) = super::health::judge(
        &state,
        &steps,
        certificate.as_ref(),
        &services,
        deployment.as_ref(),
        sip.as_ref(),
    );
    Ok(Report {
        schema: SCHEMA,
        health,
        reasons,
        last_run_at: state.last_run_at,
        run_error: state.run_error,
        image,
        identity: state.identity,
        certificate,
        // Unreadable secrets show as none here; the secrets step reports why.
        secrets: crate::jitsi::secrets::Secrets::load(paths)
            .ok()
            .flatten()
            .map(|s| SecretsView {
                fingerprints: s.fingerprints(),
                instance_id: s.instance_id,
            }),
        steps,
        services,
        operations: operations(paths, seen.facts),
        deployment,
        sip,
    })
}

/// Each step's record, or "has not run yet".
fn steps(state: &State) -> Vec<StepView> {
    StepName::ALL
        .iter()
        .map(|step| match state.steps.get(step.as_str()) {
            Some(r) => StepView {
                name: step.as_str(),
                state: r.state,
                message: r.message.clone(),
                once_per_instance: step.once_per_instance(),
                started_at: Some(r.started_at.clone()),
                duration_ms: Some(r.duration_ms),
                last_error: r.last_error.clone(),
            },
            None => StepView {
                name: step.as_str(),
                state: StepState::Pending,
                message: "has not run yet".into(),
                once_per_instance: step.once_per_instance(),
                started_at: None,
                duration_ms: None,
                last_error: None,
            },
        })
        .collect()
}

fn operations(paths: &Paths, facts: &dyn crate::host::HostFacts) -> OperationsView {
    let boot = facts.boot_id();
    OperationsView {
        shutdown: crate::ops::shutdown::load(paths)
            .filter(|p| p.state != crate::ops::shutdown::ShutdownState::Requested),
        idle: crate::ops::idle::load(paths).filter(|i| i.boot_id == boot),
        reboot_required: paths.join(crate::pipeline::REBOOT_REQUIRED).exists(),
    }
}

fn certificate(paths: &Paths) -> Option<CertificateView> {
    let path = paths.tls_fullchain();
    let bytes = std::fs::read(&path).ok()?;
    let parsed = pem::parse_many(&bytes)
        .ok()
        .and_then(|blocks| blocks.into_iter().find(|b| b.tag() == "CERTIFICATE"))
        .ok_or_else(|| format!("{} holds no PEM certificate", path.display()))
        .and_then(|block| {
            let der = rustls_pki_types::CertificateDer::from(block.into_contents());
            tls::inspect::summarize(&der, time::OffsetDateTime::now_utc())
                .map_err(|e| format!("{}: {e:#}", path.display()))
        });
    Some(match parsed {
        Ok(summary) => CertificateView {
            path: path.display().to_string(),
            summary: Some(summary),
            // A key that does not belong to the certificate serves no TLS at all.
            error: tls::store::mismatch(paths),
        },
        Err(error) => CertificateView {
            path: path.display().to_string(),
            summary: None,
            error: Some(error),
        },
    })
}

async fn services(bus: &mut crate::apply::Bus) -> ServicesView {
    let systemd = match bus.systemd().await {
        Ok(s) => s,
        Err(e) => {
            return ServicesView {
                available: false,
                error: Some(format!("{e:#}")),
                units: Vec::new(),
            }
        }
    };
    let mut units = Vec::new();
    for unit in STACK_UNITS {
        match systemd.unit_status(unit).await {
            Ok(status) => units.push(status),
            Err(e) => {
                return ServicesView {
                    available: false,
                    error: Some(format!("{e:#}")),
                    units,
                }
            }
        }
    }
    ServicesView {
        available: true,
        error: None,
        units,
    }
}
