//! Value checks for `[dns]`: update providers and the DNS wait.

use super::schema::{Dns, DnsUpdate, UpdateKind, UpdateOn};
use crate::dns::rfc2136::Rfc2136Update;
use crate::dns::url_update::UrlUpdate;
use crate::dns::{DnsSettings, Update, WaitSettings};
use crate::well_formed::{check_url, socket_addr};
use base64::Engine;
use hickory_proto::dnssec::rdata::tsig::TsigAlgorithm;
use std::net::SocketAddr;
use std::time::Duration;

/// Reports a problem with a key: `(key shown, key whose origin to name, reason)`.
pub type Fail<'a> = &'a dyn Fn(&str, &str, String) -> anyhow::Error;

/// Checks `[dns]` and builds [`DnsSettings`]; `domain` is the validated server.domain.
pub fn validate(dns: &Dns, domain: Option<&str>, fail: Fail<'_>) -> anyhow::Result<DnsSettings> {
    let mut updates = Vec::new();
    for (i, entry) in dns.update.iter().enumerate() {
        let key = |field: &str| format!("dns.update[{i}].{field}");
        let err = |field: &str, reason: String| fail(&key(field), "dns.update", reason);
        if domain.is_none() {
            return Err(err(
                "type",
                "dynamic DNS needs server.domain; set the name to update".into(),
            ));
        }
        updates.push(match entry.kind {
            UpdateKind::Url => Update::Url(url_update(entry, &err)?),
            UpdateKind::Rfc2136 => Update::Rfc2136(rfc2136(entry, domain, &err)?),
        });
    }
    if dns.update_timeout_seconds == 0 || dns.update_timeout_seconds > 3600 {
        return Err(fail(
            "dns.update_timeout_seconds",
            "dns.update_timeout_seconds",
            "must be between 1 and 3600".into(),
        ));
    }
    let w = &dns.wait;
    let wait = if w.enabled {
        if w.timeout_seconds == 0 || w.timeout_seconds > 86_400 {
            return Err(fail(
                "dns.wait.timeout_seconds",
                "dns.wait.timeout_seconds",
                "must be between 1 and 86400".into(),
            ));
        }
        if w.min_ttl_wait_seconds > 86_400 {
            return Err(fail(
                "dns.wait.min_ttl_wait_seconds",
                "dns.wait.min_ttl_wait_seconds",
                "must be at most 86400".into(),
            ));
        }
        let addrs = |key: &str, list: &[String]| -> anyhow::Result<Vec<SocketAddr>> {
            list.iter()
                .map(|a| socket_addr(a, 53).map_err(|r| fail(key, key, r)))
                .collect()
        };
        Some(WaitSettings {
            timeout: Duration::from_secs(w.timeout_seconds),
            min_ttl_wait: Duration::from_secs(w.min_ttl_wait_seconds),
            resolvers: addrs("dns.wait.resolvers", &w.resolvers)?,
            nameservers: addrs("dns.wait.nameservers", &w.nameservers)?,
            nameserver_port: w.nameserver_port,
            tcp_only: w.protocol == super::schema::DnsProtocol::Tcp,
        })
    } else {
        None
    };
    Ok(DnsSettings {
        updates,
        on_boot: dns.update_on.contains(&UpdateOn::Boot),
        on_first_boot: dns.update_on.contains(&UpdateOn::FirstBoot),
        after_start: dns.update_on.contains(&UpdateOn::AfterStart),
        update_timeout: Duration::from_secs(dns.update_timeout_seconds),
        wait,
    })
}

type EntryFail<'a> = &'a dyn Fn(&str, String) -> anyhow::Error;

/// Fails when a key of the other provider type is set, so a typo'd type is noticed.
fn reject_foreign(entry: &DnsUpdate, err: EntryFail<'_>) -> anyhow::Result<()> {
    let (foreign, other): (Vec<(&str, bool)>, &str) = match entry.kind {
        UpdateKind::Url => (
            vec![
                ("server", entry.server.is_some()),
                ("zone", entry.zone.is_some()),
                ("key_name", entry.key_name.is_some()),
                ("key_algorithm", entry.key_algorithm.is_some()),
                ("key_secret", entry.key_secret.is_some()),
                ("ttl", entry.ttl.is_some()),
            ],
            "rfc2136",
        ),
        UpdateKind::Rfc2136 => (
            vec![
                ("url", entry.url.is_some()),
                ("method", entry.method.is_some()),
                ("body", entry.body.is_some()),
                ("username", entry.username.is_some()),
                ("password", entry.password.is_some()),
                ("header", entry.header.is_some()),
                ("token", entry.token.is_some()),
                ("expect_body", entry.expect_body.is_some()),
            ],
            "url",
        ),
    };
    match foreign.iter().find(|(_, set)| *set) {
        Some((field, _)) => Err(err(
            field,
            format!("belongs to type = \"{other}\", not to this entry's type"),
        )),
        None => Ok(()),
    }
}

fn url_update(entry: &DnsUpdate, err: EntryFail<'_>) -> anyhow::Result<UrlUpdate> {
    reject_foreign(entry, err)?;
    let url = entry
        .url
        .clone()
        .ok_or_else(|| err("url", "is required for type = \"url\"".into()))?;
    // Check the URL with the placeholders filled by harmless values.
    let sample = url
        .replace("{domain}", "meet.example.org")
        .replace("{ip6}", "2001:db8::1")
        .replace("{ip}", "203.0.113.1")
        .replace("{password}", "x")
        .replace("{token}", "x");
    check_url(&sample).map_err(|r| err("url", r))?;
    let post = match entry
        .method
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("GET") => false,
        Some("POST") => true,
        Some(other) => return Err(err("method", format!("`{other}` is not GET or POST"))),
    };
    if entry.body.is_some() && !post {
        return Err(err("body", "is only sent with method = \"POST\"".into()));
    }
    if entry.username.is_some() && entry.password.is_none() {
        return Err(err("password", "is required when username is set".into()));
    }
    if entry.header.is_some() != entry.token.is_some() {
        return Err(err(
            "header",
            "and token go together; set both or neither".into(),
        ));
    }
    if let Some(header) = &entry.header {
        reqwest::header::HeaderName::from_bytes(header.as_bytes())
            .map_err(|_| err("header", format!("`{header}` is not an HTTP header name")))?;
    }
    let expect_body = match &entry.expect_body {
        Some(p) => Some(
            regex_lite::Regex::new(p)
                .map_err(|e| err("expect_body", format!("is not a regular expression: {e}")))?,
        ),
        None => None,
    };
    Ok(UrlUpdate {
        url,
        post,
        body: entry.body.clone(),
        username: entry.username.clone(),
        password: entry.password.clone(),
        header: entry.header.clone(),
        token: entry.token.clone(),
        expect_body,
    })
}

fn rfc2136(
    entry: &DnsUpdate,
    domain: Option<&str>,
    err: EntryFail<'_>,
) -> anyhow::Result<Rfc2136Update> {
    reject_foreign(entry, err)?;
    let server = entry
        .server
        .clone()
        .ok_or_else(|| err("server", "is required for type = \"rfc2136\"".into()))?;
    let server = with_dns_port(&server);
    let zone = match (&entry.zone, domain) {
        (Some(z), _) => z.trim_end_matches('.').to_ascii_lowercase(),
        (None, Some(d)) => d
            .split_once('.')
            .map(|(_, p)| p.to_string())
            .unwrap_or_default(),
        (None, None) => String::new(),
    };
    if let Some(d) = domain {
        if d != zone && !d.ends_with(&format!(".{zone}")) {
            return Err(err(
                "zone",
                format!("`{zone}` does not contain server.domain `{d}`"),
            ));
        }
    }
    let key_name = entry
        .key_name
        .clone()
        .ok_or_else(|| err("key_name", "is required for type = \"rfc2136\"".into()))?;
    let algorithm = match entry
        .key_algorithm
        .as_deref()
        .unwrap_or("hmac-sha256")
        .to_ascii_lowercase()
        .as_str()
    {
        "hmac-sha256" => TsigAlgorithm::HmacSha256,
        "hmac-sha384" => TsigAlgorithm::HmacSha384,
        "hmac-sha512" => TsigAlgorithm::HmacSha512,
        other => {
            return Err(err(
                "key_algorithm",
                format!("`{other}` is not one of hmac-sha256, hmac-sha384, hmac-sha512"),
            ))
        }
    };
    let secret = entry
        .key_secret
        .as_ref()
        .ok_or_else(|| err("key_secret", "is required for type = \"rfc2136\"".into()))?;
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.expose().trim())
        .map_err(|_| {
            err(
                "key_secret",
                "is not base64 (as in the `secret` of a bind or knot key)".into(),
            )
        })?;
    let ttl = entry.ttl.unwrap_or(60);
    Ok(Rfc2136Update {
        server,
        zone,
        key_name,
        algorithm,
        key,
        ttl,
    })
}

/// `server` with port 53 unless it names one: a bare address (IPv6 ones hold colons too)
/// or host gets it; `host:port` and `[v6]:port` stay.
fn with_dns_port(server: &str) -> String {
    if let Ok(ip) = server.parse::<std::net::IpAddr>() {
        return SocketAddr::new(ip, 53).to_string();
    }
    let names_port = server.parse::<SocketAddr>().is_ok()
        || server
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok());
    if names_port {
        server.to_string()
    } else {
        format!("{server}:53")
    }
}

#[cfg(test)]
mod tests {
    use super::with_dns_port;

    #[test]
    fn rfc2136_servers_get_the_dns_port_unless_they_name_one() {
        assert_eq!(with_dns_port("192.0.2.53"), "192.0.2.53:53");
        assert_eq!(with_dns_port("2001:db8::53"), "[2001:db8::53]:53");
        assert_eq!(with_dns_port("[2001:db8::53]:5353"), "[2001:db8::53]:5353");
        assert_eq!(with_dns_port("ns1.example.org"), "ns1.example.org:53");
        assert_eq!(
            with_dns_port("ns1.example.org:5353"),
            "ns1.example.org:5353"
        );
    }
}
