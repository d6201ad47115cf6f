//! dns-wait (when a certificate is to be ordered): wait until the zone's authoritative
//! servers and the resolvers all answer this server's address. On timeout the tls step
//! places no order, so a name that points elsewhere never costs the CA's rate limits.

use crate::dns::wait::{self, WaitSettings, Waited};
use crate::pipeline::certificate::{self, keep_message, Decision};
use crate::pipeline::{settings, ApplyHandle, Effect, Input, Outcome, Ran, Step, StepName};
use crate::plan::certificate::{CertificatePlan, Dns};
use anyhow::Result;

/// The step's declaration: its name and when it runs (`renew` runs it too).
pub const STEP: Step =
    Step::every_boot(StepName::DnsWait, |ctx, apply| Box::pin(run(ctx, apply))).renewed(false);

/// Runs the dns-wait step. Its effect: the run's certificate decision, with what DNS
/// answered (the tls step acts on it; when DNS does not answer it orders nothing).
async fn run(ctx: &Input<'_>, _: &mut ApplyHandle) -> Result<Ran> {
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
    let decision = certificate::decide(
        ctx.paths,
        settings,
        &certificate::names(&ctx.identity, ctx.settings),
        &Dns::NotYetWaited,
    )
    .await;
    let (outcome, dns) = wait_if_due(ctx, wait_settings, &decision).await;
    let decision = decision.after_dns(&dns);
    Ok(Ran::from(outcome).with(Effect::CertificateDecided(Box::new(decision))))
}

/// Waits for DNS when the certificate plan orders and waits; says why not otherwise.
/// Returns the outcome and what DNS answered, for the decision.
async fn wait_if_due(
    ctx: &Input<'_>,
    wait_settings: &WaitSettings,
    decision: &Decision,
) -> (Outcome, Dns) {
    let not_waiting = match &decision.plan {
        CertificatePlan::Order { wait: true, .. } => None,
        CertificatePlan::Keep => Some(Outcome::ok(format!(
            "no order due, not waiting: {}",
            keep_message(&decision.observed)
        ))),
        CertificatePlan::Blocked { until, reason } => {
            let when = until.map(|t| format!(" before {}", crate::state::rfc3339(t)));
            Some(Outcome::ok(format!(
                "no order{}, not waiting: {reason}",
                when.unwrap_or_default()
            )))
        }
        CertificatePlan::Order { wait: false, .. }
        | CertificatePlan::Supplied
        | CertificatePlan::Fallback => Some(Outcome::not_configured(
            "no certificate order waits for DNS",
        )),
    };
    if let Some(outcome) = not_waiting {
        return (outcome, Dns::Ready);
    }
    let Some(target) = ctx.dns_target() else {
        let why = "no public address is known to wait for; set server.public_ipv4".to_string();
        return (Outcome::failed(why.clone()), Dns::Blocked(why));
    };
    let resolv_conf = ctx.paths.join("/etc/resolv.conf");
    let mut progress = ctx.progress_writer(StepName::DnsWait);
    let waited = wait::wait(wait_settings, &target, &resolv_conf, &mut |m: &str| {
        progress.report(m)
    })
    .await;
    match waited {
        Ok(Waited::Agreed(summary)) => (Outcome::ok(summary), Dns::Ready),
        Ok(Waited::TimedOut(picture)) => (
            Outcome::failed(format!(
                "{picture}; no certificate ordered, the retry timer tries again"
            )),
            Dns::Blocked("see dns-wait".into()),
        ),
        Err(e) => {
            let why = format!("{e:#}");
            (Outcome::failed(why.clone()), Dns::Blocked(why))
        }
    }
}
