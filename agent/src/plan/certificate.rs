//! The certificate plan: from the settings, the DNS outcome, what is installed and what the
//! CA asked before, which certificate the server serves and whether one is ordered now.
//!
//! Asked once per run (by dns-wait, which waits for DNS when an order is coming, else by
//! tls); dns-wait completes the plan with the DNS outcome ([`CertificatePlan::after_dns`])
//! and tls acts on it, so the two steps never disagree on what "due" means.

use crate::well_formed::covers;
use serde::{Deserialize, Serialize};
use std::fmt;
use time::{Duration, OffsetDateTime};

/// How far a certificate's not-before may lie ahead of our clock and still count as valid:
/// a CA's clock may run ahead of ours (pebble does not backdate at all).
pub const CLOCK_SKEW: Duration = Duration::minutes(5);

/// Who put the installed certificate there; recorded beside the pair when it is installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// Issued by the ACME CA whose directory is at this URL.
    Acme {
        /// The directory URL, as configured when it was ordered.
        directory: String,
    },
    /// Supplied by the operator (`tls.certificate` and `tls.key`).
    Supplied,
    /// The agent's own self-signed fallback.
    SelfSigned,
    /// No record: installed by an older agent, or by hand.
    Unknown,
}

/// The installed certificate, as far as the plan cares.
#[derive(Debug, Clone, PartialEq)]
pub struct Installed {
    /// DNS names (lower case) and IP addresses in its subject alternative names.
    pub names: Vec<String>,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// Whether it is the agent's own self-signed fallback.
    pub fallback: bool,
    /// Whether the key belongs to the certificate and the chain is in issuing order.
    pub sound: bool,
    /// Who installed it.
    pub origin: Origin,
}

/// What DNS says about this server's name, as far as ordering goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dns {
    /// dns-wait is configured and has not waited yet: an order waits for DNS first.
    NotYetWaited,
    /// DNS answers this server's address, or nothing is to be waited for (no wait
    /// configured, or a certificate for an IP address).
    Ready,
    /// DNS does not answer this server's address; why.
    Blocked(String),
}

/// What the CA told us before, from the saved ACME schedule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AcmeState {
    /// No order before this time (the CA's Retry-After, or a rate limit).
    pub retry_not_before: Option<OffsetDateTime>,
    /// The CA's words when it asked us to wait.
    pub retry_reason: Option<String>,
    /// The CA's renewal information (ARI) for the installed certificate: renew from then.
    pub ari_renew_at: Option<OffsetDateTime>,
}

/// Everything the decision depends on.
#[derive(Debug, Clone)]
pub struct Situation<'a> {
    /// Whether a certificate is supplied (`tls.certificate` and `tls.key`).
    pub supplied: bool,
    /// The ACME directory URL when `tls.acme` is on.
    pub acme_directory: Option<&'a str>,
    /// The names the certificate must cover.
    pub wanted: &'a [String],
    /// The installed certificate, when a pair is installed and parses.
    pub installed: Option<&'a Installed>,
    /// What the CA told us before.
    pub acme: &'a AcmeState,
    /// What DNS says.
    pub dns: &'a Dns,
    /// The time the decision is for.
    pub now: OffsetDateTime,
}

/// Why a certificate is ordered rather than the installed one kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderReason {
    /// No certificate is installed.
    NothingInstalled,
    /// The installed key does not belong to the certificate, or the chain is broken.
    Unsound,
    /// The self-signed fallback is installed.
    SelfSigned,
    /// The installed certificate does not cover this name.
    NameMissing(String),
    /// The installed certificate is not valid yet.
    NotYetValid,
    /// The installed certificate has expired.
    Expired,
    /// It was issued by the CA at another directory (`tls.acme.directory` changed).
    OtherDirectory(String),
    /// It was supplied by the operator, and ACME is on now instead.
    WasSupplied,
    /// A third or less of its lifetime is left.
    Due,
    /// The CA's renewal information says to renew now.
    RenewalInfo,
}

impl fmt::Display for OrderReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NothingInstalled => write!(f, "no certificate is installed"),
            Self::Unsound => write!(
                f,
                "the installed key does not belong to the installed certificate"
            ),
            Self::SelfSigned => write!(f, "the self-signed fallback is installed"),
            Self::NameMissing(name) => {
                write!(f, "the installed certificate does not cover {name}")
            }
            Self::NotYetValid => write!(f, "the installed certificate is not valid yet"),
            Self::Expired => write!(f, "the installed certificate has expired"),
            Self::OtherDirectory(directory) => write!(
                f,
                "the installed certificate was issued by {directory}, not the configured CA"
            ),
            Self::WasSupplied => write!(
                f,
                "the installed certificate was supplied, and tls.acme is on instead"
            ),
            Self::Due => write!(
                f,
                "the installed certificate has a third or less of its lifetime left"
            ),
            Self::RenewalInfo => write!(f, "the CA's renewal information says to renew now"),
        }
    }
}

/// What to do about the certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificatePlan {
    /// Check and install the supplied certificate.
    Supplied,
    /// Keep the installed certificate: it is the configured CA's, covers the names and is
    /// not due for renewal.
    Keep,
    /// Order a certificate for `names` now (after waiting for DNS when `wait`).
    Order {
        /// The names to order for.
        names: Vec<String>,
        /// Whether DNS must be waited for before the order.
        wait: bool,
        /// Why the installed certificate (if any) is not kept.
        because: OrderReason,
    },
    /// An order is due but must not be placed now; the fallback serves meanwhile.
    Blocked {
        /// Not before this time (the CA's word), or `None` until DNS answers.
        until: Option<OffsetDateTime>,
        /// Why, in words for the operator.
        reason: String,
    },
    /// No CA and nothing supplied: keep a good installed certificate or serve self-signed.
    Fallback,
}

/// Decides what to do about the certificate in `s`.
pub fn decide(s: &Situation<'_>) -> CertificatePlan {
    if s.supplied {
        return CertificatePlan::Supplied;
    }
    let Some(directory) = s.acme_directory else {
        return CertificatePlan::Fallback;
    };
    let because = match s.installed {
        None => OrderReason::NothingInstalled,
        Some(installed) => match why_replace(installed, directory, s) {
            None => return CertificatePlan::Keep,
            Some(reason) => reason,
        },
    };
    if let Some(until) = s.acme.retry_not_before.filter(|t| *t > s.now) {
        return CertificatePlan::Blocked {
            until: Some(until),
            reason: format!(
                "the CA asked to wait ({})",
                s.acme.retry_reason.as_deref().unwrap_or("no reason given")
            ),
        };
    }
    CertificatePlan::Order {
        names: s.wanted.to_vec(),
        wait: true,
        because,
    }
    .after_dns(s.dns)
}

impl CertificatePlan {
    /// The plan once DNS is as `dns` says: an order waits for DNS while it has not been
    /// waited for, goes ahead once DNS answers and is blocked while it does not. Any other
    /// plan does not depend on DNS. A plan made before dns-wait ran is so completed with
    /// its outcome, without deciding again.
    pub fn after_dns(self, dns: &Dns) -> Self {
        match (self, dns) {
            (CertificatePlan::Order { .. }, Dns::Blocked(why)) => CertificatePlan::Blocked {
                until: None,
                reason: format!("DNS does not answer this server's address yet ({why})"),
            },
            (CertificatePlan::Order { names, because, .. }, dns) => CertificatePlan::Order {
                names,
                wait: *dns == Dns::NotYetWaited,
                because,
            },
            (plan, _) => plan,
        }
    }
}

/// Why `installed` is not kept under the CA at `directory`, or `None` to keep it.
fn why_replace(installed: &Installed, directory: &str, s: &Situation<'_>) -> Option<OrderReason> {
    if !installed.sound {
        return Some(OrderReason::Unsound);
    }
    if installed.fallback {
        return Some(OrderReason::SelfSigned);
    }
    if let Some(name) = s.wanted.iter().find(|w| !covers(&installed.names, w)) {
        return Some(OrderReason::NameMissing(name.clone()));
    }
    // Saturating: a certificate dated at the ends of time must not overflow the check.
    if installed.not_before > s.now.saturating_add(CLOCK_SKEW) {
        return Some(OrderReason::NotYetValid);
    }
    if installed.not_after <= s.now {
        return Some(OrderReason::Expired);
    }
    match &installed.origin {
        Origin::Acme {
            directory: issued_by,
        } if !same_directory(issued_by, directory) => {
            return Some(OrderReason::OtherDirectory(issued_by.clone()));
        }
        Origin::Supplied => return Some(OrderReason::WasSupplied),
        Origin::SelfSigned => return Some(OrderReason::SelfSigned),
        // Unknown: an install from before origins were recorded. Ordering on every such
        // upgrade would spend the CA's rate limits on certificates that are fine, so it
        // is kept until due like one of the configured CA's.
        Origin::Acme { .. } | Origin::Unknown => {}
    }
    // Renew with a third of the lifetime left (Let's Encrypt's advice), so reboots and
    // redeploys never order again while the certificate is good.
    let lifetime = installed.not_after - installed.not_before;
    if installed.not_after - s.now < lifetime / 3 {
        return Some(OrderReason::Due);
    }
    if s.acme.ari_renew_at.is_some_and(|at| at <= s.now) {
        return Some(OrderReason::RenewalInfo);
    }
    None
}

/// Whether two directory URLs name the same CA directory (a trailing slash aside).
fn same_directory(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROD: &str = "https://acme-v02.api.letsencrypt.org/directory";
    const STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";
    const DOMAIN: &str = "meet.example.org";

    fn now() -> OffsetDateTime {
        // A fixed time, so every row reads the same on every day.
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    fn days(n: i64) -> Duration {
        Duration::days(n)
    }

    /// A sound 90-day certificate from the production CA for DOMAIN, `age` days old.
    fn cert(age: i64) -> Installed {
        Installed {
            names: vec![DOMAIN.to_string()],
            not_before: now() - days(age),
            not_after: now() - days(age) + days(90),
            fallback: false,
            sound: true,
            origin: Origin::Acme {
                directory: PROD.to_string(),
            },
        }
    }

    /// One row: the situation's differences from "ACME on, fresh production certificate,
    /// DNS ready, no CA schedule", and the plan expected.
    struct Row {
        name: &'static str,
        supplied: bool,
        acme: Option<&'static str>,
        wanted: Vec<String>,
        installed: Option<Installed>,
        state: AcmeState,
        dns: Dns,
        expect: CertificatePlan,
    }

    fn row(name: &'static str) -> Row {
        Row {
            name,
            supplied: false,
            acme: Some(PROD),
            wanted: vec![DOMAIN.to_string()],
            installed: Some(cert(10)),
            state: AcmeState::default(),
            dns: Dns::Ready,
            expect: CertificatePlan::Keep,
        }
    }

    fn order(because: OrderReason) -> CertificatePlan {
        CertificatePlan::Order {
            names: vec![DOMAIN.to_string()],
            wait: false,
            because,
        }
    }

    fn waited_order(because: OrderReason) -> CertificatePlan {
        CertificatePlan::Order {
            names: vec![DOMAIN.to_string()],
            wait: true,
            because,
        }
    }

    fn with(mut installed: Installed, f: impl FnOnce(&mut Installed)) -> Option<Installed> {
        f(&mut installed);
        Some(installed)
    }

    fn rows() -> Vec<Row> {
        let later = now() + days(1);
        let earlier = now() - days(1);
        let ca_wait = |until| AcmeState {
            retry_not_before: Some(until),
            retry_reason: Some("rateLimited".into()),
            ari_renew_at: None,
        };
        let ari = |at| AcmeState {
            ari_renew_at: Some(at),
            ..AcmeState::default()
        };
        let blocked_by_ca = CertificatePlan::Blocked {
            until: Some(later),
            reason: "the CA asked to wait (rateLimited)".into(),
        };
        let blocked_by_dns = CertificatePlan::Blocked {
            until: None,
            reason: "DNS does not answer this server's address yet (timed out)".into(),
        };
        vec![
            Row {
                supplied: true,
                expect: CertificatePlan::Supplied,
                ..row("supplied_certificate_is_installed")
            },
            Row {
                supplied: true,
                acme: None,
                expect: CertificatePlan::Supplied,
                ..row("supplied_without_acme_is_installed")
            },
            Row {
                supplied: true,
                installed: None,
                expect: CertificatePlan::Supplied,
                ..row("supplied_with_nothing_installed_is_installed")
            },
            Row {
                supplied: true,
                state: ca_wait(later),
                expect: CertificatePlan::Supplied,
                ..row("supplied_ignores_a_ca_wait")
            },
            Row {
                acme: None,
                installed: None,
                expect: CertificatePlan::Fallback,
                ..row("no_acme_nothing_installed_falls_back")
            },
            Row {
                acme: None,
                expect: CertificatePlan::Fallback,
                ..row("no_acme_with_a_ca_certificate_falls_back_to_keeping_it")
            },
            Row {
                acme: None,
                dns: Dns::Blocked("timed out".into()),
                expect: CertificatePlan::Fallback,
                ..row("no_acme_and_dns_blocked_falls_back")
            },
            row("fresh_certificate_from_the_configured_ca_is_kept"),
            Row {
                installed: Some(cert(59)),
                ..row("certificate_with_just_over_a_third_left_is_kept")
            },
            Row {
                installed: Some(cert(61)),
                expect: order(OrderReason::Due),
                ..row("certificate_with_under_a_third_left_is_renewed")
            },
            Row {
                installed: Some(cert(89)),
                expect: order(OrderReason::Due),
                ..row("certificate_expiring_tomorrow_is_renewed")
            },
            Row {
                installed: Some(cert(91)),
                expect: order(OrderReason::Expired),
                ..row("expired_certificate_is_replaced")
            },
            Row {
                installed: Some(cert(-1)),
                expect: order(OrderReason::NotYetValid),
                ..row("certificate_valid_only_from_tomorrow_is_replaced")
            },
            Row {
                installed: with(cert(0), |c| c.not_before = now() + Duration::minutes(2)),
                ..row("certificate_two_minutes_ahead_of_our_clock_is_kept")
            },
            Row {
                installed: None,
                expect: order(OrderReason::NothingInstalled),
                ..row("nothing_installed_orders")
            },
            Row {
                installed: None,
                dns: Dns::NotYetWaited,
                expect: waited_order(OrderReason::NothingInstalled),
                ..row("nothing_installed_before_dns_wait_orders_after_waiting")
            },
            Row {
                installed: None,
                dns: Dns::Blocked("timed out".into()),
                expect: blocked_by_dns.clone(),
                ..row("nothing_installed_and_dns_blocked_is_blocked")
            },
            Row {
                installed: with(cert(10), |c| c.fallback = true),
                expect: order(OrderReason::SelfSigned),
                ..row("self_signed_fallback_installed_orders")
            },
            Row {
                installed: with(cert(10), |c| c.origin = Origin::SelfSigned),
                expect: order(OrderReason::SelfSigned),
                ..row("certificate_recorded_as_self_signed_orders")
            },
            Row {
                installed: with(cert(10), |c| c.sound = false),
                expect: order(OrderReason::Unsound),
                ..row("key_not_matching_the_certificate_orders")
            },
            Row {
                installed: with(cert(10), |c| c.names = vec!["other.example.org".into()]),
                expect: order(OrderReason::NameMissing(DOMAIN.into())),
                ..row("certificate_for_another_name_orders")
            },
            Row {
                wanted: vec![DOMAIN.into(), "turn.example.org".into()],
                expect: CertificatePlan::Order {
                    names: vec![DOMAIN.into(), "turn.example.org".into()],
                    wait: false,
                    because: OrderReason::NameMissing("turn.example.org".into()),
                },
                ..row("turn_name_added_orders_for_both")
            },
            Row {
                installed: with(cert(10), |c| c.names = vec!["*.example.org".into()]),
                ..row("wildcard_covering_the_domain_is_kept")
            },
            Row {
                installed: with(cert(10), |c| {
                    c.origin = Origin::Acme {
                        directory: STAGING.into(),
                    }
                }),
                expect: order(OrderReason::OtherDirectory(STAGING.into())),
                ..row("staging_certificate_after_switching_to_production_orders")
            },
            Row {
                acme: Some(STAGING),
                expect: order(OrderReason::OtherDirectory(PROD.into())),
                ..row("production_certificate_after_switching_to_staging_orders")
            },
            Row {
                installed: with(cert(10), |c| {
                    c.origin = Origin::Acme {
                        directory: format!("{PROD}/"),
                    }
                }),
                ..row("same_directory_with_a_trailing_slash_is_kept")
            },
            Row {
                installed: with(cert(10), |c| {
                    c.origin = Origin::Acme {
                        directory: STAGING.into(),
                    }
                }),
                dns: Dns::NotYetWaited,
                expect: waited_order(OrderReason::OtherDirectory(STAGING.into())),
                ..row("directory_switch_waits_for_dns_first")
            },
            Row {
                installed: with(cert(10), |c| c.origin = Origin::Supplied),
                expect: order(OrderReason::WasSupplied),
                ..row("previously_supplied_certificate_after_enabling_acme_orders")
            },
            Row {
                installed: with(cert(10), |c| c.origin = Origin::Unknown),
                ..row("unrecorded_certificate_from_an_older_agent_is_kept")
            },
            Row {
                installed: with(cert(70), |c| c.origin = Origin::Unknown),
                expect: order(OrderReason::Due),
                ..row("unrecorded_certificate_due_is_renewed")
            },
            Row {
                state: ari(earlier),
                expect: order(OrderReason::RenewalInfo),
                ..row("renewal_information_saying_renew_now_orders")
            },
            Row {
                state: ari(later),
                ..row("renewal_information_window_ahead_is_kept")
            },
            Row {
                state: ari(OffsetDateTime::new_utc(
                    time::Date::MAX,
                    time::Time::MIDNIGHT,
                )),
                ..row("renewal_information_at_the_end_of_time_is_kept")
            },
            Row {
                state: ca_wait(later),
                ..row("ca_wait_with_a_good_certificate_keeps_it")
            },
            Row {
                installed: None,
                state: ca_wait(later),
                expect: blocked_by_ca.clone(),
                ..row("ca_wait_with_nothing_installed_is_blocked")
            },
            Row {
                installed: Some(cert(70)),
                state: ca_wait(later),
                expect: blocked_by_ca.clone(),
                ..row("ca_wait_with_a_due_certificate_is_blocked")
            },
            Row {
                installed: None,
                state: ca_wait(later),
                dns: Dns::NotYetWaited,
                expect: blocked_by_ca.clone(),
                ..row("ca_wait_blocks_before_waiting_for_dns")
            },
            Row {
                installed: None,
                state: ca_wait(later),
                dns: Dns::Blocked("timed out".into()),
                expect: blocked_by_ca,
                ..row("ca_wait_and_dns_blocked_names_the_ca_wait")
            },
            Row {
                installed: None,
                state: ca_wait(earlier),
                expect: order(OrderReason::NothingInstalled),
                ..row("ca_wait_passed_orders")
            },
            Row {
                installed: Some(cert(70)),
                dns: Dns::Blocked("timed out".into()),
                expect: blocked_by_dns,
                ..row("due_certificate_and_dns_blocked_is_blocked")
            },
            Row {
                installed: with(cert(10), |c| {
                    c.origin = Origin::Acme {
                        directory: STAGING.into(),
                    }
                }),
                state: ari(earlier),
                expect: order(OrderReason::OtherDirectory(STAGING.into())),
                ..row("directory_switch_is_named_before_renewal_information")
            },
            Row {
                installed: with(cert(10), |c| {
                    c.not_before = OffsetDateTime::new_utc(time::Date::MIN, time::Time::MIDNIGHT);
                    c.not_after = OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT);
                }),
                ..row("certificate_valid_for_all_time_is_kept")
            },
        ]
    }

    /// Decides the row named `name` and compares with what it expects.
    fn check(name: &str) {
        let rows = rows();
        let Some(r) = rows.iter().find(|r| r.name == name) else {
            panic!("no row named {name}");
        };
        let situation = Situation {
            supplied: r.supplied,
            acme_directory: r.acme,
            wanted: &r.wanted,
            installed: r.installed.as_ref(),
            acme: &r.state,
            dns: &r.dns,
            now: now(),
        };
        assert_eq!(decide(&situation), r.expect, "{name}");
    }

    /// One test per row, named for its situation.
    macro_rules! rows_as_tests {
        ($($name:ident),* $(,)?) => {
            $(
                #[test]
                fn $name() {
                    check(stringify!($name));
                }
            )*
            /// The rows that have a test of their own.
            const TESTED: &[&str] = &[$(stringify!($name)),*];
        };
    }

    rows_as_tests!(
        supplied_certificate_is_installed,
        supplied_without_acme_is_installed,
        supplied_with_nothing_installed_is_installed,
        supplied_ignores_a_ca_wait,
        no_acme_nothing_installed_falls_back,
        no_acme_with_a_ca_certificate_falls_back_to_keeping_it,
        no_acme_and_dns_blocked_falls_back,
        fresh_certificate_from_the_configured_ca_is_kept,
        certificate_with_just_over_a_third_left_is_kept,
        certificate_with_under_a_third_left_is_renewed,
        certificate_expiring_tomorrow_is_renewed,
        expired_certificate_is_replaced,
        certificate_valid_only_from_tomorrow_is_replaced,
        certificate_two_minutes_ahead_of_our_clock_is_kept,
        nothing_installed_orders,
        nothing_installed_before_dns_wait_orders_after_waiting,
        nothing_installed_and_dns_blocked_is_blocked,
        self_signed_fallback_installed_orders,
        certificate_recorded_as_self_signed_orders,
        key_not_matching_the_certificate_orders,
        certificate_for_another_name_orders,
        turn_name_added_orders_for_both,
        wildcard_covering_the_domain_is_kept,
        staging_certificate_after_switching_to_production_orders,
        production_certificate_after_switching_to_staging_orders,
        same_directory_with_a_trailing_slash_is_kept,
        directory_switch_waits_for_dns_first,
        previously_supplied_certificate_after_enabling_acme_orders,
        unrecorded_certificate_from_an_older_agent_is_kept,
        unrecorded_certificate_due_is_renewed,
        renewal_information_saying_renew_now_orders,
        renewal_information_window_ahead_is_kept,
        renewal_information_at_the_end_of_time_is_kept,
        ca_wait_with_a_good_certificate_keeps_it,
        ca_wait_with_nothing_installed_is_blocked,
        ca_wait_with_a_due_certificate_is_blocked,
        ca_wait_blocks_before_waiting_for_dns,
        ca_wait_and_dns_blocked_names_the_ca_wait,
        ca_wait_passed_orders,
        due_certificate_and_dns_blocked_is_blocked,
        directory_switch_is_named_before_renewal_information,
        certificate_valid_for_all_time_is_kept,
    );

    #[test]
    fn every_row_has_a_test_and_there_are_at_least_thirty() {
        let mut rows: Vec<_> = rows().iter().map(|r| r.name).collect();
        let mut tested = TESTED.to_vec();
        rows.sort_unstable();
        tested.sort_unstable();
        assert_eq!(rows, tested);
        assert!(rows.len() >= 30, "{} rows", rows.len());
    }

    #[test]
    fn row_names_are_unique() {
        let rows = rows();
        let mut names: Vec<_> = rows.iter().map(|r| r.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), rows.len());
    }

    /// A plan made before DNS was waited for, completed with DNS's answer, is the plan
    /// decided with that answer: dns-wait's decision is handed on, not made again.
    #[test]
    fn a_plan_completed_with_dns_is_the_plan_decided_with_it() {
        let blocked = Dns::Blocked("timed out".into());
        for row in rows() {
            for dns in [Dns::NotYetWaited, Dns::Ready, blocked.clone()] {
                let situation = |dns| Situation {
                    supplied: row.supplied,
                    acme_directory: row.acme,
                    wanted: &row.wanted,
                    installed: row.installed.as_ref(),
                    acme: &row.state,
                    dns,
                    now: now(),
                };
                let before = decide(&situation(&Dns::NotYetWaited));
                assert_eq!(
                    before.after_dns(&dns),
                    decide(&situation(&dns)),
                    "{} with {dns:?}",
                    row.name
                );
            }
        }
    }
}
