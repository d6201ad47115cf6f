//! identity (every boot): domain, addresses and size, from config, the instance source and
//! the local interfaces, each address with where it came from.

use crate::config::Settings;
use crate::pipeline::{Input, Outcome, Ran, Step, StepName};
use crate::source::InstanceData;
use crate::state::Identity;
use anyhow::Result;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The step's declaration: its name and when it runs.
pub const STEP: Step = Step::every_boot(StepName::Identity, |ctx, _| {
    Box::pin(async move { run(ctx).map(Ran::from) })
});

/// The public IPv4 address the identity step would settle on without asking
/// `server.public_ip_url` (a network call): config, then the instance source, then a
/// global interface address. `config check` checks a supplied certificate for it.
pub fn public_ipv4_known(
    settings: &Settings,
    instance: &InstanceData,
    facts: &dyn crate::host::HostFacts,
) -> Option<Ipv4Addr> {
    settings.public_ipv4.or(instance.public_ipv4).or_else(|| {
        facts.interfaces().iter().find_map(|ip| match ip {
            IpAddr::V4(v4) if is_public_v4(v4) => Some(*v4),
            _ => None,
        })
    })
}

/// Works out the identity; config beats the instance source, which beats the interfaces,
/// which beat the "what is my IP" URL (asked only when nothing else knows an address).
pub async fn resolve(
    settings: &Settings,
    instance: &InstanceData,
    facts: &dyn crate::host::HostFacts,
) -> Identity {
    let interfaces = facts.interfaces();
    let global_v4 = interfaces.iter().find_map(|ip| match ip {
        IpAddr::V4(v4) if is_public_v4(v4) => Some(*v4),
        _ => None,
    });
    let any_v4 = interfaces.iter().find_map(|ip| match ip {
        IpAddr::V4(v4) if !v4.is_loopback() && !v4.is_link_local() => Some(*v4),
        _ => None,
    });
    let global_v6 = interfaces.iter().find_map(|ip| match ip {
        IpAddr::V6(v6) if is_public_v6(v6) => Some(*v6),
        _ => None,
    });
    let pick = |config: Option<IpAddr>, source: Option<IpAddr>, interface: Option<IpAddr>| {
        if let Some(ip) = config {
            Some((ip, "config".to_string()))
        } else if let Some(ip) = source {
            Some((ip, instance.provider.clone()))
        } else {
            interface.map(|ip| (ip, "interface".to_string()))
        }
    };
    let mut v4 = pick(
        settings.public_ipv4.map(IpAddr::V4),
        instance.public_ipv4.map(IpAddr::V4),
        global_v4.map(IpAddr::V4),
    );
    let mut v6 = pick(
        settings.public_ipv6.map(IpAddr::V6),
        instance.ipv6.filter(is_public_v6).map(IpAddr::V6),
        global_v6.map(IpAddr::V6),
    );
    if let (None, Some(url)) = (&v4, &settings.public_ip_url) {
        match ask_public_ip(url).await {
            Ok(ip @ IpAddr::V4(_)) => v4 = Some((ip, "public_ip_url".into())),
            Ok(ip @ IpAddr::V6(_)) if v6.is_none() => v6 = Some((ip, "public_ip_url".into())),
            Ok(_) => {}
            Err(e) => tracing::warn!("server.public_ip_url: {e}"),
        }
    }
    Identity {
        domain: settings.domain.clone(),
        public_ipv4: v4.as_ref().and_then(|(ip, _)| match ip {
            IpAddr::V4(v4) => Some(*v4),
            IpAddr::V6(_) => None,
        }),
        public_ipv4_source: v4.map(|(_, from)| from),
        local_ipv4: instance.local_ipv4.or(any_v4),
        public_ipv6: v6.as_ref().and_then(|(ip, _)| match ip {
            IpAddr::V6(v6) => Some(*v6),
            IpAddr::V4(_) => None,
        }),
        public_ipv6_source: v6.map(|(_, from)| from),
        instance: instance.clone(),
        cpus: facts.cpus(),
        memory_mib: facts.memory_mib(),
    }
}

/// Records the identity resolved at the start of the run.
fn run(ctx: &Input<'_>) -> Result<Outcome> {
    let id = &ctx.identity;
    let mut addresses = format!(
        "{}; {} CPUs, {} MiB",
        id.addresses(),
        id.cpus,
        id.memory_mib
    );
    if let Some(note) = &id.instance.user_data_note {
        addresses.push_str("; ");
        addresses.push_str(note);
        if !ctx
            .paths
            .join(crate::source::user_data::CLOUD_INIT)
            .exists()
        {
            addresses.push_str(" (cloud-init is not installed here, so nothing acts on it)");
        }
    }
    // A bridge or recorder serves no site: its deployment's name comes with its token.
    // (Without a loadable configuration the identity is still reported.)
    let joined = ctx.settings.map(|s| &s.roles).and_then(|roles| {
        let token = roles.join.as_ref().filter(|_| roles.role.joins())?;
        Some((roles.role, token.domain().to_string()))
    });
    Ok(match (&id.domain, joined) {
        (Some(domain), _) => Outcome::ok(format!("{domain}: {addresses}")),
        (None, Some((role, deployment))) => Outcome::ok(format!(
            "a {} of {deployment} (no site of its own): {addresses}",
            role.noun()
        )),
        (None, None) => Outcome::degraded(format!(
            "no server.domain is set, so the server has no name for its certificate; {addresses}"
        )),
    })
}

/// Asks a "what is my IP" service; the answer is the address as plain text.
async fn ask_public_ip(url: &str) -> Result<IpAddr, String> {
    let client = crate::http_body::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("{url} did not answer: {e}"))?;
    let status = response.status();
    // An address is a line: a few hundred bytes are plenty, an endless answer is refused.
    let body = crate::http_body::read_capped_text(response, 4 << 10)
        .await
        .map_err(|e| format!("{url} (server.public_ip_url): {e}"))?;
    if !status.is_success() {
        return Err(format!("{url} answered HTTP {}", status.as_u16()));
    }
    let text = body.trim();
    text.parse().map_err(|_| {
        format!(
            "{url} answered `{}`, not an IP address",
            text.chars().take(60).collect::<String>()
        )
    })
}

/// A globally routable IPv4 address: not private, loopback, link-local, shared (CGNAT),
/// documentation (TEST-NET), benchmarking, reserved or unspecified. An interface holding
/// one of those is behind NAT or in a lab, and its address is no use to DNS or the bridge.
fn is_public_v4(ip: &Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let shared = a == 100 && (b & 0xc0) == 64;
    let documentation = matches!((a, b, c), (192, 0, 2) | (198, 51, 100) | (203, 0, 113));
    let benchmarking = a == 198 && (b & 0xfe) == 18;
    let reserved = a >= 240;
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || shared
        || documentation
        || benchmarking
        || reserved)
}

/// A global unicast IPv6 address (2000::/3).
fn is_public_v6(ip: &Ipv6Addr) -> bool {
    (ip.segments()[0] & 0xe000) == 0x2000
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A "what is my IP" service that answers without end, or declares 200 MB: refused at
    /// once, naming the setting, instead of read whole.
    #[tokio::test]
    async fn an_endless_or_huge_address_answer_is_refused_naming_the_setting() {
        use std::io::{Read, Write};
        crate::install_crypto_provider();
        for declared in [true, false] {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}/ip", listener.local_addr().unwrap());
            std::thread::spawn(move || {
                let Ok((mut conn, _)) = listener.accept() else {
                    return;
                };
                let mut head = [0u8; 4096];
                let _ = conn.read(&mut head);
                let length = if declared {
                    "Content-Length: 200000000\r\n"
                } else {
                    "Transfer-Encoding: chunked\r\n"
                };
                let _ = write!(conn, "HTTP/1.1 200 OK\r\n{length}\r\n");
                // At most 64 MiB, so that a reader without a ceiling ends too.
                for _ in 0..1024 {
                    let chunk = [b'1'; 65536];
                    let ok = if declared {
                        conn.write_all(&chunk).is_ok()
                    } else {
                        write!(conn, "10000\r\n").is_ok()
                            && conn.write_all(&chunk).is_ok()
                            && conn.write_all(b"\r\n").is_ok()
                    };
                    if !ok {
                        return;
                    }
                }
            });
            let err = ask_public_ip(&url).await.unwrap_err();
            assert!(
                err.contains("server.public_ip_url") && err.contains("larger than 4 KiB"),
                "{err}"
            );
        }
    }

    #[test]
    fn public_address_rules() {
        assert!(is_public_v4(&"93.184.216.34".parse().unwrap()));
        assert!(!is_public_v4(&"203.0.113.7".parse().unwrap()));
        assert!(!is_public_v4(&"192.0.2.2".parse().unwrap()));
        assert!(!is_public_v4(&"198.19.0.1".parse().unwrap()));
        assert!(!is_public_v4(&"10.1.2.3".parse().unwrap()));
        assert!(!is_public_v4(&"100.64.1.1".parse().unwrap()));
        assert!(!is_public_v4(&"169.254.169.254".parse().unwrap()));
        assert!(is_public_v6(&"2001:db8::1".parse().unwrap()));
        assert!(!is_public_v6(&"fe80::1".parse().unwrap()));
        assert!(!is_public_v6(&"fd00::1".parse().unwrap()));
    }
}
