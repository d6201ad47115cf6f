//! dns-wait (when a certificate is to be ordered): wait until the zone's authoritative
//! servers and the resolvers all answer this server's address. On timeout the tls step
//! places no order, so a name that points elsewhere never costs the CA's rate limits.

use super::{ddns, tls};
use crate::config::Settings;
use crate::dns::wait::{self, WaitSettings, Waited};
use crate::pipeline::{settings, Effect, Input, Outcome, Ran, Runs, Step, StepName};
use crate::plan::certificate::{CertificatePlan, Dns};
use anyhow::Result;

/// The step's declaration: its name and when it runs.
pub const STEP: Step = Step {
    name: StepName::DnsWait,
    runs: Runs::EveryBoot,
    renews: true,
};

/// Runs the dns-wait step. Its effects: what it observed of the installed certificate (the
/// tls step decides on the same reading), and whether DNS does not answer (then the tls
/// step orders nothing).
pub async fn run(ctx: &Input<'_>) -> Result<Ran> {
    let settings = settings(ctx)?;
    let Some(wait_settings) = &settings.dns.wait else {
        return Ok(Outcome::not_configured("dns.wait.enabled is false").into());
    };
    if settings.acme.is_none() {
        return Ok(Outcome::not_configured(
            "no certificate is ordered (tls.acme is off), so nothing waits for DNS",
        )
        .into());
    }
    if settings.tls_supplied.is_some() {
        return Ok(
            Outcome::not_configured("a certificate is supplied, so nothing waits for DNS").into(),
        );
    }
    if ctx.identity.domain.is_none() {
        return Ok(Outcome::not_configured(
            "no server.domain: the certificate is for the IP address",
        )
        .into());
    }
    let observed = tls::observe(ctx, settings).await;
    let ran = wait_if_due(ctx, settings, wait_settings, &observed).await;
    Ok(ran.with(Effect::CertificateObserved(Box::new(observed))))
}

/// Waits for DNS when the certificate plan orders and waits; says why not otherwise.
async fn wait_if_due(
    ctx: &Input<'_>,
    settings: &Settings,
    wait_settings: &WaitSettings,
    observed: &tls::Observed,
) -> Ran {
    match tls::plan(ctx, settings, observed, &Dns::NotYetWaited) {
        CertificatePlan::Order { wait: true, .. } => {}
        CertificatePlan::Keep => {
            return Outcome::ok(format!(
                "no order due, not waiting: {}",
                tls::keep_message(observed)
            ))
            .into()
        }
        CertificatePlan::Blocked { until, reason } => {
            let when = until.map(|t| format!(" before {}", crate::state::rfc3339(t)));
            return Outcome::ok(format!(
                "no order{}, not waiting: {reason}",
                when.unwrap_or_default()
            ))
            .into();
        }
        CertificatePlan::Order { wait: false, .. }
        | CertificatePlan::Supplied
        | CertificatePlan::Fallback => {
            return Outcome::not_configured("no certificate order waits for DNS").into()
        }
    }
    let not_answering = |outcome: Outcome, reason: String| {
        Ran::from(outcome).with(Effect::DnsNotAnswering { reason })
    };
    let Some(target) = ddns::target(ctx) else {
        let why = "no public address is known to wait for; set server.public_ipv4".to_string();
        return not_answering(Outcome::failed(why.clone()), why);
    };
    let resolv_conf = ctx.paths.join("/etc/resolv.conf");
    let mut progress = ctx.progress_writer(StepName::DnsWait);
    let waited = wait::wait(wait_settings, &target, &resolv_conf, &mut |m: &str| {
        progress.report(m)
    })
    .await;
    match waited {
        Ok(Waited::Agreed(summary)) => Outcome::ok(summary).into(),
        Ok(Waited::TimedOut(picture)) => not_answering(
            Outcome::failed(format!(
                "{picture}; no certificate ordered, the retry timer tries again"
            )),
            "see dns-wait".into(),
        ),
        Err(e) => {
            let why = format!("{e:#}");
            not_answering(Outcome::failed(why.clone()), why)
        }
    }
}
