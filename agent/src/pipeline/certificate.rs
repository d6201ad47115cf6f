//! The certificate decision of a run, shared by dns-wait (whether to wait) and tls (what to
//! do): what is installed, what the CA said before, and [`crate::plan::certificate`]'s
//! plan. Made once per run, by the first of the two steps that needs it; dns-wait hands
//! its decision, with what DNS answered, to tls through the runner
//! (`Effect::CertificateDecided`). Imports nothing of the pipeline: the steps' shared
//! types name its [`Decision`].

use crate::config::Settings;
use crate::paths::Paths;
use crate::plan::certificate::{self, AcmeState, CertificatePlan, Dns, Installed, Origin};
use crate::state::Identity;
use crate::tls::schedule::{self, Schedule};
use crate::tls::{inspect, selfsigned, store, verify, Pair};
use time::OffsetDateTime;

/// What the decision was made on: the installed pair and what the CA told us before.
pub struct Observed {
    /// The installed pair and who installed it.
    pub(super) pair: Option<(Pair, Origin)>,
    /// The installed certificate as the plan sees it.
    installed: Option<Installed>,
    /// The CA's schedule, with renewal information for the installed certificate.
    acme: AcmeState,
}

impl Observed {
    /// An observation of the installed pair alone, for the fallback (which neither plans
    /// nor asks the CA).
    pub(crate) fn pair_only(pair: Option<(Pair, Origin)>) -> Self {
        Self {
            pair,
            installed: None,
            acme: AcmeState::default(),
        }
    }
}

/// The run's certificate decision and what it was made on.
pub struct Decision {
    /// What was read.
    pub observed: Observed,
    /// What to do.
    pub plan: CertificatePlan,
}

impl Decision {
    /// The same decision once DNS has answered (or not): see
    /// [`CertificatePlan::after_dns`].
    pub fn after_dns(self, dns: &Dns) -> Self {
        Self {
            plan: self.plan.after_dns(dns),
            observed: self.observed,
        }
    }
}

/// Reads the installed pair and the CA's schedule and decides for the names `wanted`
/// (see [`names`]), with DNS as `dns` says. Asks the CA for renewal information only when
/// the installed certificate would otherwise be kept (it can only turn a keep into an
/// order), and then decides on it.
pub async fn decide(paths: &Paths, settings: &Settings, wanted: &[String], dns: &Dns) -> Decision {
    let now = OffsetDateTime::now_utc();
    let pair = store::read(paths);
    let installed = pair
        .as_ref()
        .and_then(|(p, origin)| describe(p, origin, now));
    let saved = Schedule::load(paths);
    let mut observed = Observed {
        pair,
        installed,
        acme: AcmeState {
            retry_not_before: saved.retry_not_before,
            retry_reason: saved.retry_reason,
            ari_renew_at: None,
        },
    };
    let plan_on = |observed: &Observed| {
        certificate::decide(&certificate::Situation {
            supplied: settings.tls_supplied.is_some(),
            acme_directory: settings.acme.as_ref().map(|a| a.directory.as_str()),
            wanted,
            installed: observed.installed.as_ref(),
            acme: &observed.acme,
            dns,
            now,
        })
    };
    let mut plan = plan_on(&observed);
    if let (CertificatePlan::Keep, Some(acme)) = (&plan, &settings.acme) {
        let leaf = observed.pair.as_ref().and_then(|(p, _)| p.chain.first());
        if let Some(leaf) = leaf {
            observed.acme.ari_renew_at = schedule::renewal_time(paths, acme, leaf, now).await;
            if observed.acme.ari_renew_at.is_some() {
                plan = plan_on(&observed);
            }
        }
    }
    Decision { observed, plan }
}

/// The installed pair as the plan sees it; `None` when its leaf does not parse.
fn describe(pair: &Pair, origin: &Origin, now: OffsetDateTime) -> Option<Installed> {
    let leaf = pair.chain.first()?;
    let cert = inspect::parse(leaf).ok()?;
    let summary = inspect::summarize(leaf, now).ok()?;
    Some(Installed {
        names: summary.names,
        not_before: cert.validity().not_before.to_datetime(),
        not_after: cert.validity().not_after.to_datetime(),
        fallback: selfsigned::is_ours(&summary.subject),
        sound: verify::key_matches(pair).is_ok() && verify::chain_in_order(pair).is_ok(),
        origin: origin.clone(),
    })
}

/// The message for keeping the installed certificate.
pub fn keep_message(observed: &Observed) -> String {
    let summary = observed
        .pair
        .as_ref()
        .and_then(|(pair, _)| pair.chain.first())
        .and_then(|leaf| inspect::summarize(leaf, OffsetDateTime::now_utc()).ok());
    match summary {
        Some(s) => format!(
            "keeping the certificate for {} from {}, {} days left (renews with a third of its lifetime left, or when the CA's renewal information says so)",
            s.names.join(", "),
            s.issuer,
            s.days_left
        ),
        None => "keeping the installed certificate".to_string(),
    }
}

/// The names the site needs: the domain, or the public IP without one.
pub fn site_names(identity: &Identity) -> Vec<String> {
    verify::site_names(identity.domain.as_deref(), identity.public_ipv4)
}

/// The names a certificate the agent obtains or makes covers: the site's, and the TURN
/// name (`jitsi.turn.tls_host`) when TURN shares port 443.
pub fn names(identity: &Identity, settings: Option<&Settings>) -> Vec<String> {
    let mut names = site_names(identity);
    if let Some(host) = settings.and_then(|s| s.jitsi.turn.tls_host.clone()) {
        names.push(host);
    }
    names
}
