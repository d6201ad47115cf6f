//! tls (every boot): install the supplied certificate after checking it, or keep the server
//! reachable with the installed or a self-signed certificate.

use super::{settings, Context, Outcome};
use crate::apply::Service;
use crate::state::rfc3339;
use crate::tls::acme::{self, AcmeSettings};
use crate::tls::schedule::{self, Schedule};
use crate::tls::{self, inspect, material, selfsigned, verify, Pair};
use anyhow::{Context as _, Result};
use time::OffsetDateTime;

/// Days of validity below which the fallback certificate is replaced.
const FALLBACK_RENEW_DAYS: i64 = 30;

/// Runs the tls step.
pub async fn run(ctx: &mut Context<'_>) -> Result<Outcome> {
    let settings = settings(ctx)?;
    let Some(supplied) = &settings.tls_supplied else {
        let outcome = match &settings.acme {
            Some(acme) => from_acme(ctx, acme).await?,
            None => ensure_fallback(ctx)?,
        };
        return Ok(outcome);
    };
    // A supplied certificate must cover the site; the jitsi step says so if it lacks the
    // TURN name, which costs only TURN on port 443.
    let wanted = site_names(ctx);
    let now = OffsetDateTime::now_utc();
    let checked = (|| -> Result<(Pair, verify::Checked)> {
        let chain = material::read(&supplied.certificate, "certificate")?;
        let key = material::read(supplied.key.expose(), "key")?;
        let pair = Pair::from_pem(&chain, &key).context("supplied certificate")?;
        let checked =
            verify::check(&pair, &wanted, now).context("supplied certificate not installed")?;
        Ok((pair, checked))
    })();
    match checked {
        Ok((pair, checked)) => {
            let changed = install(ctx, &pair)?;
            let mut message = format!(
                "supplied certificate for {} from {}, {} days left{}",
                checked.summary.names.join(", "),
                checked.summary.issuer,
                checked.summary.days_left,
                if changed {
                    ", installed"
                } else {
                    ", unchanged"
                }
            );
            if let Some(warning) = checked.warnings.first() {
                message = format!("{message}; {warning}");
            }
            let outcome = if checked.warnings.is_empty() {
                Outcome::ok(message)
            } else {
                Outcome::degraded(message)
            };
            Ok(outcome)
        }
        Err(e) => {
            let fallback = ensure_fallback(ctx)?;
            Ok(Outcome::failed(format!(
                "{e:#}; meanwhile: {}",
                fallback.message
            )))
        }
    }
}

/// Keeps an installed CA certificate with more than a third of its lifetime left (so reboots
/// and redeploys never spend the CA's rate limits) unless the CA's renewal information says
/// otherwise, else orders one. No order while DNS does not point here or while the CA has
/// asked us to wait. On failure the fallback stays and the outcome carries the CA's words.
async fn from_acme(ctx: &mut Context<'_>, acme: &AcmeSettings) -> Result<Outcome> {
    if let Some(keep) = keep_installed(ctx, acme).await? {
        return Ok(Outcome::ok(keep));
    }
    let now = OffsetDateTime::now_utc();
    let blocked = if let Some(dns) = &ctx.dns_blocked {
        Some(format!(
            "no ACME order placed: DNS does not answer this server's address yet ({dns})"
        ))
    } else {
        let schedule = Schedule::load(ctx.paths);
        schedule.retry_not_before.filter(|t| *t > now).map(|t| {
            format!(
                "no ACME order placed before {}: the CA asked to wait ({})",
                rfc3339(t),
                schedule.retry_reason.unwrap_or_default()
            )
        })
    };
    if let Some(why) = blocked {
        let fallback = ensure_fallback(ctx)?;
        return Ok(Outcome::degraded(format!(
            "{why}; meanwhile: {}",
            fallback.message
        )));
    }
    let wanted = names(ctx);
    match acme::obtain(ctx.paths, acme, &wanted).await {
        Ok(pair) => {
            let checked = verify::check(&pair, &wanted, now).context("the CA's certificate")?;
            install(ctx, &pair)?;
            let mut schedule = Schedule::load(ctx.paths);
            if schedule.retry_not_before.is_some() || schedule.ari_certificate.is_some() {
                schedule = Schedule::default();
                schedule.save(ctx.paths)?;
            }
            Ok(Outcome::ok(format!(
                "certificate for {} from {}, {} days left, installed",
                checked.summary.names.join(", "),
                checked.summary.issuer,
                checked.summary.days_left
            )))
        }
        Err(failure) => {
            let mut message = failure.message;
            if let Some(at) = failure.retry_at {
                let at = OffsetDateTime::from(at);
                let mut schedule = Schedule::load(ctx.paths);
                schedule.retry_not_before = Some(at);
                schedule.retry_reason = Some(message.clone());
                schedule.save(ctx.paths)?;
                message.push_str(&format!(
                    "; next attempt not before {}, as the CA asked",
                    rfc3339(at)
                ));
            }
            let fallback = ensure_fallback(ctx)?;
            Ok(Outcome::degraded(format!(
                "{message}; meanwhile: {}",
                fallback.message
            )))
        }
    }
}

/// The message for keeping the installed certificate, or `None` when an order is due:
/// no CA certificate for our names, a third or less of its lifetime left, or the CA's
/// renewal information says renew now.
pub(super) async fn keep_installed(
    ctx: &Context<'_>,
    acme: &AcmeSettings,
) -> Result<Option<String>> {
    let wanted = names(ctx);
    let now = OffsetDateTime::now_utc();
    let Some(pair) = tls::installed(ctx.paths) else {
        return Ok(None);
    };
    let Ok(checked) = verify::check(&pair, &wanted, now) else {
        return Ok(None);
    };
    let s = &checked.summary;
    // check() succeeded, so the chain has a leaf.
    let Some(leaf) = pair.chain.first() else {
        return Ok(None);
    };
    if selfsigned::is_ours(&s.subject) || inspect::due_for_renewal(leaf, now)? {
        return Ok(None);
    }
    if schedule::ari_says_renew(ctx.paths, acme, leaf, now).await == Some(true) {
        tracing::info!("the CA's renewal information says to renew now");
        return Ok(None);
    }
    Ok(Some(format!(
        "keeping the certificate for {} from {}, {} days left (renews with a third of its lifetime left, or when the CA's renewal information says so)",
        s.names.join(", "),
        s.issuer,
        s.days_left
    )))
}

/// Installs `pair` with the services that read it recorded first as pending a reload, so
/// that a run killed before the start step still has them reloaded by the next run (the
/// start step, or the end of a run without it, reloads each once).
fn install(ctx: &mut Context<'_>, pair: &Pair) -> Result<bool> {
    let paths = ctx.paths;
    let same = tls::installed(paths)
        .is_some_and(|old| old.key.pem() == pair.key.pem() && old.chain_pem() == pair.chain_pem());
    let changed = if same {
        // The same pair (at most a mode to correct): nothing a service must re-read, and
        // no record to write on every rerun.
        tls::install(paths, pair)?
    } else {
        ctx.refreshes
            .around(&Service::TLS_CONSUMERS, || tls::install(paths, pair))?
    };
    ctx.tls_changed |= changed;
    Ok(changed)
}

/// The names the site needs: the domain, or the public IP without one.
fn site_names(ctx: &Context<'_>) -> Vec<String> {
    match (&ctx.identity.domain, ctx.identity.public_ipv4) {
        (Some(domain), _) => vec![domain.clone()],
        (None, Some(ip)) => vec![ip.to_string()],
        (None, None) => vec!["localhost".to_string()],
    }
}

/// The names a certificate the agent obtains or makes covers: the site's, and the TURN
/// name (`jitsi.turn.tls_host`) when TURN shares port 443.
pub(super) fn names(ctx: &Context<'_>) -> Vec<String> {
    let mut names = site_names(ctx);
    if let Some(host) = ctx.settings.and_then(|s| s.jitsi.turn.tls_host.clone()) {
        names.push(host);
    }
    names
}

/// Keeps an installed certificate that is still good for our names, else installs a fresh
/// self-signed one. Never leaves the server without a certificate.
pub fn ensure_fallback(ctx: &mut Context<'_>) -> Result<Outcome> {
    let wanted = names(ctx);
    let now = OffsetDateTime::now_utc();
    if let Some(pair) = tls::installed(ctx.paths) {
        if let Ok(checked) = verify::check(&pair, &wanted, now) {
            let s = &checked.summary;
            if !selfsigned::is_ours(&s.subject) {
                return Ok(Outcome::ok(format!(
                    "keeping the installed certificate for {} from {}, {} days left",
                    s.names.join(", "),
                    s.issuer,
                    s.days_left
                )));
            }
            if s.days_left > FALLBACK_RENEW_DAYS {
                return Ok(self_signed_outcome(&wanted, false));
            }
        }
    }
    let pair = selfsigned::generate(&wanted, now)?;
    install(ctx, &pair)?;
    Ok(self_signed_outcome(&wanted, true))
}

fn self_signed_outcome(names: &[String], made: bool) -> Outcome {
    Outcome::degraded(format!(
        "serving a self-signed certificate for {} ({}); browsers will warn until tls.certificate and tls.key are set or tls.acme is enabled",
        names.join(", "),
        if made { "made now" } else { "unchanged" }
    ))
}
