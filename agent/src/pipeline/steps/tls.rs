//! tls (every boot): install the supplied certificate after checking it, keep or order an
//! ACME certificate as [`crate::plan::certificate`] decides, or keep the server reachable
//! with the installed or a self-signed certificate.

use crate::apply::Service;
use crate::config::Settings;
use crate::pipeline::certificate::{self, keep_message, names, site_names, Observed};
use crate::pipeline::{settings, ApplyHandle, Effect, Input, Outcome, Ran, Step, StepName};
use crate::plan::certificate::{CertificatePlan, Dns, Origin};
use crate::state::rfc3339;
use crate::tls::acme::{self, AcmeSettings};
use crate::tls::schedule::Schedule;
use crate::tls::{self, selfsigned, store, verify, Pair};
use anyhow::{Context as _, Result};
use time::OffsetDateTime;

/// The step's declaration: its name and when it runs.
/// `renew --retry` runs it (and dns-wait) while its last record is not ok; without
/// configuration it keeps the server reachable.
pub const STEP: Step = Step::every_boot(StepName::Tls, |ctx, apply| Box::pin(run(ctx, apply)))
    .renewed(true)
    .without_config(ensure_fallback);

/// Days of validity below which the fallback certificate is replaced.
const FALLBACK_RENEW_DAYS: i64 = 30;

/// Runs the tls step. Its effect: the pair it leaves installed, for the later steps.
async fn run(ctx: &Input<'_>, apply: &mut ApplyHandle) -> Result<Ran> {
    let settings = settings(ctx)?;
    let role = settings.roles.role;
    if role.joins() {
        return Ok(Outcome::not_configured(format!(
            "a {} serves no web site, so it needs no web certificate (its signaling node's is verified through the join token)",
            role.noun()
        ))
        .into());
    }
    remove_leftovers(ctx);
    // dns-wait's decision when it made one (the tidying above moves files but keeps their
    // bytes), else our own, with nothing to wait for.
    let own;
    let decision = match &ctx.observed.certificate {
        Some(decision) => decision.as_ref(),
        None => {
            own = certificate::decide(
                ctx.paths,
                settings,
                &names(&ctx.identity, ctx.settings),
                &Dns::Ready,
            )
            .await;
            &own
        }
    };
    let mut tls = Tls::new(ctx, apply, &decision.observed);
    let outcome = match &decision.plan {
        CertificatePlan::Supplied => tls.supplied(settings)?,
        CertificatePlan::Fallback => tls.fallback()?,
        CertificatePlan::Keep => Outcome::ok(keep_message(&decision.observed)),
        CertificatePlan::Blocked { until, reason } => {
            let why = match until {
                Some(t) => format!("no ACME order placed before {}: {reason}", rfc3339(*t)),
                None => format!("no ACME order placed: {reason}"),
            };
            let fallback = tls.fallback()?;
            Outcome::degraded(format!("{why}; meanwhile: {}", fallback.message))
        }
        CertificatePlan::Order { names, because, .. } => match &settings.acme {
            Some(acme) => tls.order(acme, names, &because.to_string()).await?,
            // decide() orders only with tls.acme on.
            None => tls.fallback()?,
        },
    };
    let ran = Ran::from(outcome);
    Ok(match tls.live {
        Some(pair) => ran.with(Effect::CertificateLive(pair)),
        None => ran,
    })
}

/// One pass of the tls step: what it reads, where it installs, and the pair installed.
struct Tls<'r, 'a> {
    ctx: &'r Input<'a>,
    apply: &'r mut ApplyHandle,
    observed: &'r Observed,
    /// The pair installed now: the observed one until this pass installs another.
    live: Option<Pair>,
}

impl<'r, 'a> Tls<'r, 'a> {
    fn new(ctx: &'r Input<'a>, apply: &'r mut ApplyHandle, observed: &'r Observed) -> Self {
        let live = observed.pair.as_ref().map(|(pair, _)| pair.clone());
        Self {
            ctx,
            apply,
            observed,
            live,
        }
    }
    /// Checks and installs the supplied certificate; on failure keeps the server reachable.
    fn supplied(&mut self, settings: &Settings) -> Result<Outcome> {
        let Some(supplied) = &settings.tls_supplied else {
            return self.fallback();
        };
        // A supplied certificate must cover the site; the jitsi step says so if it lacks the
        // TURN name, which costs only TURN on port 443.
        let wanted = site_names(&self.ctx.identity);
        let now = OffsetDateTime::now_utc();
        let checked =
            verify::check_supplied(&supplied.certificate, supplied.key.expose(), &wanted, now)
                .context("supplied certificate not installed");
        match checked {
            Ok((arranged, checked)) => {
                let pair = arranged.pair;
                let changed = self.install(pair, &Origin::Supplied)?;
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
                if arranged.reordered {
                    message.push_str(" (tls.certificate did not list the key's certificate first; installed with it first, then its issuers)");
                }
                if let Some(warning) = checked.warnings.first() {
                    message = format!("{message}; {warning}");
                }
                Ok(if checked.warnings.is_empty() {
                    Outcome::ok(message)
                } else {
                    Outcome::degraded(message)
                })
            }
            Err(e) => {
                let fallback = self.fallback()?;
                Ok(Outcome::failed(format!(
                    "{e:#}; meanwhile: {}",
                    fallback.message
                )))
            }
        }
    }

    /// Orders a certificate for `wanted` and installs it, recorded as the configured CA's.
    /// On failure the fallback stays, the outcome carries the CA's words, and a wait the CA
    /// asked for is saved for the next run.
    async fn order(
        &mut self,
        acme: &AcmeSettings,
        wanted: &[String],
        because: &str,
    ) -> Result<Outcome> {
        tracing::info!("ordering a certificate from {}: {because}", acme.directory);
        let paths = self.ctx.paths;
        let now = OffsetDateTime::now_utc();
        match acme::obtain(paths, acme, wanted).await {
            Ok(pair) => {
                let checked = verify::check(&pair, wanted, now).context("the CA's certificate")?;
                let origin = Origin::Acme {
                    directory: acme.directory.clone(),
                };
                self.install(pair, &origin)?;
                let mut schedule = Schedule::load(paths);
                if schedule.retry_not_before.is_some() || schedule.ari_certificate.is_some() {
                    schedule = Schedule::default();
                    schedule.save(paths)?;
                }
                Ok(Outcome::ok(format!(
                    "certificate for {} from {}, {} days left, installed ({because})",
                    checked.summary.names.join(", "),
                    checked.summary.issuer,
                    checked.summary.days_left
                )))
            }
            Err(failure) => {
                let mut message = failure.message;
                if let Some(at) = failure.retry_at {
                    let at = tls::time_limit::to_offset(at);
                    let mut schedule = Schedule::load(paths);
                    schedule.retry_not_before = Some(at);
                    schedule.retry_reason = Some(message.clone());
                    schedule.save(paths)?;
                    message.push_str(&format!(
                        "; next attempt not before {}, as the CA asked",
                        rfc3339(at)
                    ));
                }
                let fallback = self.fallback()?;
                Ok(Outcome::degraded(format!(
                    "{message}; meanwhile: {}",
                    fallback.message
                )))
            }
        }
    }

    /// Installs `pair` with the services that read it recorded first as pending a reload,
    /// so that a run killed before the start step still has them reloaded by the next run
    /// (the start step, or the end of a run without it, reloads each once). Returns whether
    /// the certificate or key changed.
    fn install(&mut self, pair: Pair, origin: &Origin) -> Result<bool> {
        let paths = self.ctx.paths;
        // Compared with the pair as observed (or as this pass installed it), not read again.
        let same = self.live.as_ref().is_some_and(|old| {
            old.key.pem() == pair.key.pem() && old.chain_pem() == pair.chain_pem()
        });
        let changed = if same {
            // The same pair (at most a mode to correct): nothing a service must re-read, and
            // no record to write on every rerun.
            let changed = tls::install_from(paths, &pair, origin)?;
            if changed {
                // The observation was not what the disk held (changed behind the run
                // lock's back): the readers must hear of it all the same. Recorded after
                // the write here, so a kill in between costs this one reload.
                self.apply.refreshes.mark_pending(&Service::TLS_CONSUMERS)?;
            }
            changed
        } else {
            self.apply.refreshes.around(&Service::TLS_CONSUMERS, || {
                tls::install_from(paths, &pair, origin)
            })?
        };
        self.live = Some(pair);
        Ok(changed)
    }

    /// Keeps an installed certificate that is still good for our names, else installs a
    /// fresh self-signed one. Never leaves the server without a certificate.
    fn fallback(&mut self) -> Result<Outcome> {
        let wanted = names(&self.ctx.identity, self.ctx.settings);
        let now = OffsetDateTime::now_utc();
        if let Some((pair, _)) = &self.observed.pair {
            if let Ok(checked) = verify::check(pair, &wanted, now) {
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
                    return Ok(self_signed_outcome(&wanted, false, self.recorders()));
                }
            }
        }
        let pair = selfsigned::generate(&wanted, now)?;
        self.install(pair, &Origin::SelfSigned)?;
        Ok(self_signed_outcome(&wanted, true, self.recorders()))
    }

    /// Recorders serve this site: their browser opens its meetings and, unlike a person,
    /// cannot accept a certificate it does not trust.
    fn recorders(&self) -> bool {
        self.ctx
            .settings
            .is_some_and(|s| crate::jitsi::assemble::offers_recording(s.roles.role, &s.recording))
    }
}

/// Removes the version folders killed runs never made live, and moves an older agent's
/// plain files behind the `live` link (their temporary files, one of them maybe a copy of
/// the private key, the runner's sweep has removed before any step). A failure costs only
/// the tidying.
fn remove_leftovers(ctx: &Input<'_>) {
    if let Err(e) = store::migrate(ctx.paths) {
        tracing::warn!("cannot move the installed certificate behind its link: {e:#}");
    }
    match store::remove_unfinished_versions(ctx.paths) {
        Ok(files) => {
            for file in files {
                tracing::info!("removed {}, left by a run that was killed", file.display());
            }
        }
        Err(e) => tracing::warn!("cannot tidy the tls folder: {e:#}"),
    }
}

/// Keeps an installed certificate that is still good for our names, else installs a fresh
/// self-signed one (for a run without configuration). Never leaves the server without a
/// certificate.
fn ensure_fallback(ctx: &Input<'_>, apply: &mut ApplyHandle) -> Result<()> {
    let observed = Observed::pair_only(store::read(ctx.paths));
    Tls::new(ctx, apply, &observed)
        .fallback()
        .context("could not install a fallback certificate")?;
    Ok(())
}

fn self_signed_outcome(names: &[String], made: bool, recorders: bool) -> Outcome {
    Outcome::degraded(format!(
        "serving a self-signed certificate for {} ({}); browsers will warn{} until tls.certificate and tls.key are set or tls.acme is enabled",
        names.join(", "),
        if made { "made now" } else { "unchanged" },
        // jibri's Chrome gets no --ignore-certificate-errors (jibri.conf as rendered, like
        // upstream's default), so it cannot open a meeting on this site.
        if recorders {
            ", and recorders cannot join meetings (their browser refuses the certificate),"
        } else {
            ""
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{finish, Merged};
    use crate::pipeline::runner::tests::input;

    /// The tls step decides on dns-wait's reading when the runner handed it one (the disk
    /// is not read again), on its own otherwise, and reports the pair it leaves installed.
    #[tokio::test]
    async fn tls_decides_on_the_reading_it_is_handed_and_reports_the_live_pair() {
        let (_, settings) = finish(&Merged::default()).expect("the defaults validate");
        let now = OffsetDateTime::now_utc();
        let handed = selfsigned::generate(&["localhost".to_string()], now).expect("a pair");
        // (dns-wait's reading handed over, the outcome says, tls folder written)
        let cases = [(true, "(unchanged)", false), (false, "(made now)", true)];
        for (with_reading, says, written) in cases {
            let root = tempfile::tempdir().expect("a temporary folder");
            let paths = crate::paths::Paths::new(root.path());
            let mut ctx = input(&paths);
            ctx.settings = Some(&settings);
            if with_reading {
                let pair = Some((handed.clone(), Origin::SelfSigned));
                ctx.observed.certificate = Some(Box::new(certificate::Decision {
                    observed: Observed::pair_only(pair),
                    plan: CertificatePlan::Fallback,
                }));
            }
            let mut apply = ApplyHandle::load(&paths);
            let ran = run(&ctx, &mut apply).await.expect("the tls step runs");
            assert!(
                ran.outcome.message.contains(says),
                "{}",
                ran.outcome.message
            );
            assert_eq!(paths.tls_dir().exists(), written, "{with_reading}");
            let live = match ran.effects.as_slice() {
                [Effect::CertificateLive(live)] => live,
                other => panic!("effects {other:?}"),
            };
            let on_disk = tls::installed(&paths);
            let expected = if with_reading {
                Some(&handed)
            } else {
                on_disk.as_ref()
            };
            assert_eq!(
                Some(live.chain_pem()),
                expected.map(|p| p.chain_pem()),
                "{with_reading}"
            );
        }
    }

    /// A self-signed certificate on a site that recorders serve says that they cannot
    /// join its meetings; on one without recorders it does not.
    #[tokio::test]
    async fn a_self_signed_site_says_recorders_cannot_join_only_where_they_serve_it() {
        for (toml, says) in [("", false), ("[recording]\nlocal = true\n", true)] {
            let merged = Merged {
                table: toml::from_str(toml).expect("a configuration"),
                ..Merged::default()
            };
            let (_, settings) = finish(&merged).expect("it validates");
            let root = tempfile::tempdir().expect("a temporary folder");
            let paths = crate::paths::Paths::new(root.path());
            let mut ctx = input(&paths);
            ctx.settings = Some(&settings);
            let mut apply = ApplyHandle::load(&paths);
            let ran = run(&ctx, &mut apply).await.expect("the tls step runs");
            let message = &ran.outcome.message;
            assert!(message.contains("self-signed"), "{message}");
            assert_eq!(
                message.contains("recorders cannot join meetings"),
                says,
                "{message}"
            );
        }
    }
}
