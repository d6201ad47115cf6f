//! dns-wait (when a certificate is to be ordered): wait until the zone's authoritative
//! servers and the resolvers all answer this server's address. On timeout the tls step
//! places no order, so a name that points elsewhere never costs the CA's rate limits.

use super::{ddns, tls};
use crate::pipeline::{settings, Context, Outcome, StepName};
use crate::dns::wait::{self, Waited};
use crate::plan::certificate::{CertificatePlan, Dns};
use anyhow::Result;

/// Runs the dns-wait step.
pub async fn run(ctx: &mut Context<'_>) -> Result<Outcome> {
    let settings = settings(ctx)?;
    let Some(wait_settings) = &settings.dns.wait else {
        return Ok(Outcome::not_configured("dns.wait.enabled is false"));
    };
    if settings.acme.is_none() {
        return Ok(Outcome::not_configured(
            "no certificate is ordered (tls.acme is off), so nothing waits for DNS",
        ));
    }
    if settings.tls_supplied.is_some() {
        return Ok(Outcome::not_configured(
            "a certificate is supplied, so nothing waits for DNS",
        ));
    }
    if ctx.identity.domain.is_none() {
        return Ok(Outcome::not_configured(
            "no server.domain: the certificate is for the IP address",
        ));
    }
    let observed = tls::observe(ctx, settings).await;
    match tls::plan(ctx, settings, &observed, &Dns::NotYetWaited) {
        CertificatePlan::Order { wait: true, .. } => {}
        CertificatePlan::Keep => {
            return Ok(Outcome::ok(format!(
                "no order due, not waiting: {}",
                tls::keep_message(&observed)
            )))
        }
        CertificatePlan::Blocked { until, reason } => {
            let when = until.map(|t| format!(" before {}", crate::state::rfc3339(t)));
            return Ok(Outcome::ok(format!(
                "no order{}, not waiting: {reason}",
                when.unwrap_or_default()
            )));
        }
        CertificatePlan::Order { wait: false, .. }
        | CertificatePlan::Supplied
        | CertificatePlan::Fallback => {
            return Ok(Outcome::not_configured(
                "no certificate order waits for DNS",
            ))
        }
    }
    let Some(target) = ddns::target(ctx) else {
        let why = "no public address is known to wait for; set server.public_ipv4".to_string();
        ctx.dns_blocked = Some(why.clone());
        return Ok(Outcome::failed(why));
    };
    let resolv_conf = ctx.paths.join("/etc/resolv.conf");
    let mut progress = ctx.progress_writer(StepName::DnsWait);
    let waited = wait::wait(wait_settings, &target, &resolv_conf, &mut |m: &str| {
        progress.report(m)
    })
    .await;
    Ok(match waited {
        Ok(Waited::Agreed(summary)) => Outcome::ok(summary),
        Ok(Waited::TimedOut(picture)) => {
            ctx.dns_blocked = Some("see dns-wait".into());
            Outcome::failed(format!(
                "{picture}; no certificate ordered, the retry timer tries again"
            ))
        }
        Err(e) => {
            let why = format!("{e:#}");
            ctx.dns_blocked = Some(why.clone());
            Outcome::failed(why)
        }
    })
}
