//! What a DNS update sends (this server's name and addresses) and how an attempt failed.

use std::net::{Ipv4Addr, Ipv6Addr};

/// The name and the addresses to publish.
#[derive(Debug, Clone)]
pub struct Target {
    /// The server's domain.
    pub domain: String,
    /// Its public IPv4 address.
    pub ipv4: Option<Ipv4Addr>,
    /// Its public IPv6 address.
    pub ipv6: Option<Ipv6Addr>,
}

/// Why an update did not go through.
#[derive(Debug)]
pub struct UpdateError {
    /// Whether trying again could help (network errors, 5xx, 429).
    pub retryable: bool,
    /// What happened, with the provider's own answer; never a credential.
    pub message: String,
}

impl UpdateError {
    /// An error worth retrying.
    pub fn retry(message: impl Into<String>) -> Self {
        Self {
            retryable: true,
            message: message.into(),
        }
    }
    /// An error that retrying will not fix.
    pub fn fatal(message: impl Into<String>) -> Self {
        Self {
            retryable: false,
            message: message.into(),
        }
    }
}
