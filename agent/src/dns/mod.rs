//! Dynamic DNS: sending this server's address to DNS providers, and waiting until DNS
//! answers it, so that a certificate is never ordered for a name that points elsewhere.

pub mod rfc2136;
pub mod url_update;
pub mod wait;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

pub use wait::WaitSettings;

/// Validated `[dns]` settings.
#[derive(Debug, Clone)]
pub struct DnsSettings {
    /// Providers, sent in order.
    pub updates: Vec<Update>,
    /// Update on every boot (before the certificate step).
    pub on_boot: bool,
    /// Update on an instance's first boot only.
    pub on_first_boot: bool,
    /// Update again after the stack has started.
    pub after_start: bool,
    /// How long one provider may keep failing in a retryable way.
    pub update_timeout: Duration,
    /// Waiting for DNS, when enabled.
    pub wait: Option<WaitSettings>,
}

/// One provider.
#[derive(Debug, Clone)]
pub enum Update {
    /// A dynamic DNS service's update URL.
    Url(url_update::UrlUpdate),
    /// An RFC 2136 server.
    Rfc2136(rfc2136::Rfc2136Update),
}

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

impl Update {
    /// Where the update goes, safe to log (no query string, no key).
    pub fn label(&self) -> String {
        match self {
            Update::Url(u) => u.label(),
            Update::Rfc2136(u) => u.label(),
        }
    }

    async fn send_once(&self, target: &Target) -> Result<String, UpdateError> {
        match self {
            Update::Url(u) => u.send(target).await,
            Update::Rfc2136(u) => u.send(target).await,
        }
    }

    /// Sends the update, retrying retryable failures with backoff (1 s doubling to 30 s)
    /// until `timeout` has passed.
    pub async fn send(&self, target: &Target, timeout: Duration) -> Result<String, String> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut delay = Duration::from_secs(1);
        let mut attempt = 1;
        loop {
            match self.send_once(target).await {
                Ok(answer) => return Ok(answer),
                Err(e) if e.retryable && tokio::time::Instant::now() + delay < deadline => {
                    tracing::info!(
                        "ddns: {} attempt {attempt} failed ({}); retrying in {delay:?}",
                        self.label(),
                        e.message
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                    attempt += 1;
                }
                Err(e) => {
                    let tries = if attempt > 1 {
                        format!(" (after {attempt} attempts)")
                    } else {
                        String::new()
                    };
                    return Err(format!("{}: {}{tries}", self.label(), e.message));
                }
            }
        }
    }
}
