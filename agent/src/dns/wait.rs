//! Waiting until DNS answers this server's address: the zone's authoritative servers
//! (found by NS lookup, walking up from the name) and the recursive resolvers are asked
//! directly, every second, until every one of them answers exactly our address.

use super::Target;
use anyhow::{anyhow, Context, Result};
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{Name, TokioResolver};
use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

/// Validated `[dns.wait]` settings.
#[derive(Debug, Clone)]
pub struct WaitSettings {
    /// Give up after this long.
    pub timeout: Duration,
    /// Extra wait once everyone agrees (caches holding an older record).
    pub min_ttl_wait: Duration,
    /// Recursive resolvers; empty means those in /etc/resolv.conf.
    pub resolvers: Vec<SocketAddr>,
    /// Authoritative servers; empty means found by NS lookup.
    pub nameservers: Vec<SocketAddr>,
    /// Port for nameservers found by NS lookup.
    pub nameserver_port: u16,
    /// Ask over TCP only.
    pub tcp_only: bool,
}

/// How often every server is asked again.
pub const POLL: Duration = Duration::from_secs(1);

/// What one server said about one record type.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Addresses(BTreeSet<IpAddr>),
    NoRecord,
    NoSuchName,
    Error(String),
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Addresses(ips) => {
                let list: Vec<String> = ips.iter().map(IpAddr::to_string).collect();
                f.write_str(&list.join(" "))
            }
            Answer::NoRecord => f.write_str("no record"),
            Answer::NoSuchName => f.write_str("no such name (NXDOMAIN)"),
            Answer::Error(e) => write!(f, "error: {e}"),
        }
    }
}

/// One server to ask.
struct Server {
    role: &'static str,
    addr: SocketAddr,
    resolver: TokioResolver,
}

/// How the wait ended.
#[derive(Debug)]
pub enum Waited {
    /// Every server answers our addresses.
    Agreed(String),
    /// The deadline passed; who answers what.
    TimedOut(String),
}

/// Waits until every server answers `target`'s addresses, reporting each round's
/// picture through `progress`.
pub async fn wait(
    settings: &WaitSettings,
    target: &Target,
    resolv_conf: &Path,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<Waited> {
    let name = Name::from_ascii(format!("{}.", target.domain))
        .with_context(|| format!("`{}` is not a DNS name", target.domain))?;
    let wanted = wanted(target);
    if wanted.is_empty() {
        return Err(anyhow!(
            "no public address is known to wait for; set server.public_ipv4"
        ));
    }
    let resolver_addrs = if settings.resolvers.is_empty() {
        system_resolvers(resolv_conf)?
    } else {
        settings.resolvers.clone()
    };
    let resolvers: Vec<Server> = resolver_addrs
        .iter()
        .map(|a| server("resolver", *a, true, settings.tcp_only))
        .collect();
    let mut authoritative: Vec<Server> = settings
        .nameservers
        .iter()
        .map(|a| server("authoritative", *a, false, settings.tcp_only))
        .collect();
    let started = tokio::time::Instant::now();
    let deadline = started + settings.timeout;
    let mut zone_note = String::new();
    let mut last_picture = String::new();
    loop {
        if authoritative.is_empty() {
            (authoritative, zone_note) = authoritative_of(settings, &resolvers, &name).await;
        }
        let (agreed, picture) = look(
            &authoritative,
            &resolvers,
            &name,
            &wanted,
            target,
            &zone_note,
        )
        .await;
        // Logged when it changes, not every second.
        if picture != last_picture {
            tracing::info!("dns-wait: {picture}");
            last_picture.clone_from(&picture);
        }
        if agreed {
            if !settings.min_ttl_wait.is_zero() {
                progress(&format!(
                    "all servers agree; waiting {} s more for caches (dns.wait.min_ttl_wait_seconds)",
                    settings.min_ttl_wait.as_secs()
                ));
                tokio::time::sleep(settings.min_ttl_wait).await;
            }
            return Ok(Waited::Agreed(format!(
                "all servers agree after {:.1} s: {picture}",
                started.elapsed().as_secs_f64()
            )));
        }
        if tokio::time::Instant::now() + POLL > deadline {
            return Ok(Waited::TimedOut(format!(
                "DNS did not answer this server's address within {} s (dns.wait.timeout_seconds): {picture}",
                settings.timeout.as_secs()
            )));
        }
        progress(&format!(
            "waiting ({:.0} s of {} s): {picture}",
            started.elapsed().as_secs_f64(),
            settings.timeout.as_secs()
        ));
        tokio::time::sleep(POLL).await;
    }
}

/// Asks every server for every wanted record once: whether all answer what is wanted, and
/// the picture of who answers what (for the log, progress and the step's message).
async fn look(
    authoritative: &[Server],
    resolvers: &[Server],
    name: &Name,
    wanted: &[(RecordType, BTreeSet<IpAddr>)],
    target: &Target,
    zone_note: &str,
) -> (bool, String) {
    let mut agreed = !authoritative.is_empty();
    let mut lines = Vec::new();
    for s in authoritative.iter().chain(resolvers.iter()) {
        let mut parts = Vec::new();
        for (kind, want) in wanted {
            s.resolver.clear_cache();
            let answer = ask(&s.resolver, name, *kind).await;
            agreed &= answer == Answer::Addresses(want.clone());
            parts.push(format!("{kind:?} {answer}"));
        }
        lines.push(format!(
            "{} {} answers {}",
            s.role,
            s.addr,
            parts.join(", ")
        ));
    }
    let want_text: Vec<String> = wanted
        .iter()
        .map(|(kind, ips)| format!("{kind:?} {}", Answer::Addresses(ips.clone())))
        .collect();
    let picture = format!(
        "{}: want {}; {zone_note}{}",
        target.domain,
        want_text.join(", "),
        lines.join("; ")
    );
    (agreed, picture)
}

/// The zone's authoritative servers, found through the resolvers, and the note on the
/// zone for the picture (or why they could not be found).
async fn authoritative_of(
    settings: &WaitSettings,
    resolvers: &[Server],
    name: &Name,
) -> (Vec<Server>, String) {
    match find_nameservers(resolvers, name, settings.nameserver_port).await {
        Ok((zone, addrs)) => (
            addrs
                .into_iter()
                .map(|a| server("authoritative", a, false, settings.tcp_only))
                .collect(),
            format!("zone {zone}; "),
        ),
        Err(e) => (Vec::new(), format!("{e}; ")),
    }
}

/// The record types and addresses we expect: A always (when IPv4 is known), AAAA when an
/// IPv6 address is configured.
fn wanted(target: &Target) -> Vec<(RecordType, BTreeSet<IpAddr>)> {
    let mut wanted = Vec::new();
    if let Some(ip) = target.ipv4 {
        wanted.push((RecordType::A, BTreeSet::from([IpAddr::V4(ip)])));
    }
    if let Some(ip) = target.ipv6 {
        wanted.push((RecordType::AAAA, BTreeSet::from([IpAddr::V6(ip)])));
    }
    wanted
}

/// A resolver that asks exactly one server, caches nothing and ignores /etc/hosts.
fn server(role: &'static str, addr: SocketAddr, recursive: bool, tcp_only: bool) -> Server {
    let mut config = ResolverConfig::new();
    if !tcp_only {
        config.add_name_server(NameServerConfig::new(addr, Protocol::Udp));
    }
    config.add_name_server(NameServerConfig::new(addr, Protocol::Tcp));
    let mut opts = ResolverOpts::default();
    opts.cache_size = 0;
    opts.attempts = 1;
    opts.timeout = Duration::from_secs(2);
    opts.positive_max_ttl = Some(Duration::ZERO);
    opts.negative_max_ttl = Some(Duration::ZERO);
    opts.use_hosts_file = ResolveHosts::Never;
    opts.recursion_desired = recursive;
    opts.ndots = 0;
    let resolver = TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
        .with_options(opts)
        .build();
    Server {
        role,
        addr,
        resolver,
    }
}

async fn ask(resolver: &TokioResolver, name: &Name, kind: RecordType) -> Answer {
    match resolver.lookup(name.clone(), kind).await {
        Ok(lookup) => {
            let ips: BTreeSet<IpAddr> = lookup
                .iter()
                .filter_map(|r| match r {
                    RData::A(a) => Some(IpAddr::V4(a.0)),
                    RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                    _ => None,
                })
                .collect();
            if ips.is_empty() {
                Answer::NoRecord
            } else {
                Answer::Addresses(ips)
            }
        }
        Err(e) if e.is_nx_domain() => Answer::NoSuchName,
        Err(e) if e.is_no_records_found() => Answer::NoRecord,
        Err(e) => Answer::Error(e.to_string()),
    }
}

/// Walks up from `name` to the first name with NS records (the zone) and resolves its
/// nameservers; IPv4 addresses are used when there are any, since a machine without
/// IPv6 could never reach the others.
async fn find_nameservers(
    resolvers: &[Server],
    name: &Name,
    port: u16,
) -> Result<(String, Vec<SocketAddr>)> {
    let Some(first) = resolvers.first() else {
        return Err(anyhow!("no resolver to find the zone's nameservers with"));
    };
    let mut candidate = name.clone();
    while candidate.num_labels() >= 1 {
        first.resolver.clear_cache();
        if let Ok(ns) = first
            .resolver
            .lookup(candidate.clone(), RecordType::NS)
            .await
        {
            let hosts: Vec<Name> = ns
                .iter()
                .filter_map(|r| match r {
                    RData::NS(ns) => Some(ns.0.clone()),
                    _ => None,
                })
                .collect();
            if !hosts.is_empty() {
                let mut v4 = Vec::new();
                let mut v6 = Vec::new();
                for host in &hosts {
                    if let Ok(ips) = first.resolver.lookup_ip(host.clone()).await {
                        for ip in ips.iter() {
                            match ip {
                                IpAddr::V4(_) => v4.push(SocketAddr::new(ip, port)),
                                IpAddr::V6(_) => v6.push(SocketAddr::new(ip, port)),
                            }
                        }
                    }
                }
                let addrs = if v4.is_empty() { v6 } else { v4 };
                if addrs.is_empty() {
                    return Err(anyhow!(
                        "the nameservers of {candidate} ({}) have no addresses",
                        hosts
                            .iter()
                            .map(Name::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                let zone = candidate.to_string();
                return Ok((zone.trim_end_matches('.').to_string(), addrs));
            }
        }
        candidate = candidate.base_name();
        if candidate.is_root() {
            break;
        }
    }
    Err(anyhow!(
        "no NS records found for {name} or any parent; set dns.wait.nameservers"
    ))
}

/// The nameservers in resolv.conf (below the agent's root).
fn system_resolvers(resolv_conf: &Path) -> Result<Vec<SocketAddr>> {
    let text = std::fs::read(resolv_conf).with_context(|| {
        format!(
            "cannot read {}; set dns.wait.resolvers",
            resolv_conf.display()
        )
    })?;
    let (config, _) = hickory_resolver::system_conf::parse_resolv_conf(&text)
        .with_context(|| format!("cannot parse {}", resolv_conf.display()))?;
    let mut addrs: Vec<SocketAddr> = config
        .name_servers()
        .iter()
        .map(|n| n.socket_addr)
        .collect();
    addrs.dedup();
    if addrs.is_empty() {
        return Err(anyhow!(
            "{} names no nameserver; set dns.wait.resolvers",
            resolv_conf.display()
        ));
    }
    Ok(addrs)
}
