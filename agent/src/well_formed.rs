//! Whether a value is well formed: domain names, region names, endpoint URLs, socket
//! addresses and address blocks. A leaf: configuration validates keys with these, and the domain modules
//! and commands that take the same values from elsewhere (a token, a command line) check
//! them the same way.

use std::net::{IpAddr, SocketAddr};

/// Checks a fully qualified domain name: at least two labels of letters, digits and
/// inner hyphens, 63 bytes a label, 253 in all, and a top-level label that is not numeric.
pub fn check_fqdn(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 253 {
        return Err(format!(
            "`{name}` is not a valid domain name (1 to 253 characters)"
        ));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err(format!(
            "`{name}` is not fully qualified (it needs at least one dot)"
        ));
    }
    for label in &labels {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            return Err(format!(
                "`{name}` is not a valid domain name (label `{label}`: letters, digits and inner hyphens, at most 63)"
            ));
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!(
            "`{name}` is not a domain name (it looks like an IP address)"
        ));
    }
    Ok(())
}

/// Whether `value` is a region name: 1 to 64 ASCII letters, digits, `-` or `_` (such as
/// `eu-central-1` or `europe-west1`). Checked once for every place a region comes from
/// (`bridge.region`, the EC2 and Compute Engine metadata): it ends up quoted in jvb.conf
/// and jicofo.conf and, on AWS, inside the API endpoints' host names.
pub fn is_region_name(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}
/// Checks an endpoint URL: http or https, with a host.
pub fn check_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    match parsed.scheme() {
        "http" | "https" if parsed.host().is_some() => Ok(()),
        "http" | "https" => Err(format!("`{url}` has no host")),
        other => Err(format!(
            "`{url}` uses `{other}`; only http and https URLs are allowed"
        )),
    }
}

/// `host[:port]` or `[v6]:port` with a default port.
pub fn socket_addr(text: &str, default_port: u16) -> Result<SocketAddr, String> {
    if let Ok(a) = text.parse::<SocketAddr>() {
        return Ok(a);
    }
    if let Ok(ip) = text.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, default_port));
    }
    Err(format!(
        "`{text}` is not an IP address or address:port such as 192.0.2.53 or 192.0.2.53:5353"
    ))
}

/// An address block the signaling node lets reach its XMPP client port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The network address (host bits as given).
    pub addr: IpAddr,
    /// The prefix length (32 or 128 for a single address).
    pub prefix: u8,
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Parses `10.0.0.0/16`, `2001:db8::/48` or a single address (a /32 or /128).
pub fn parse_cidr(text: &str) -> Result<Cidr, String> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let addr: IpAddr = addr
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not an IP address or CIDR such as 10.0.0.0/16"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => max,
        Some(p) => p
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| format!("`{text}`: the prefix length must be 0 to {max}"))?,
    };
    Ok(Cidr { addr, prefix })
}

/// Whether `names` (from a certificate) cover `wanted`, with one-label wildcards.
pub fn covers(names: &[String], wanted: &str) -> bool {
    let wanted = wanted.to_ascii_lowercase();
    names.iter().any(|n| {
        n == &wanted
            || n.strip_prefix("*.").is_some_and(|suffix| {
                wanted
                    .split_once('.')
                    .is_some_and(|(first, rest)| !first.is_empty() && rest == suffix)
            })
    })
}

#[cfg(test)]
mod tests {
    use super::is_region_name;

    #[test]
    fn region_names_are_plain_words() {
        assert!(is_region_name("eu-central-1") && is_region_name("rack_7"));
        assert!(!is_region_name("") && !is_region_name("eu.central") && !is_region_name("a\"b"));
        assert!(!is_region_name(&"a".repeat(65)) && is_region_name(&"a".repeat(64)));
    }
}
