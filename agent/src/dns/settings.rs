//! The ddns and dns-wait settings config builds, and sending one configured update with
//! retries.

use super::target::{Target, UpdateError};
use super::wait::WaitSettings;
use super::{rfc2136, url_update};
use crate::retry::Failed;
use std::time::Duration;

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
        let policy = crate::retry::Retry {
            deadline: timeout,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            request_timeout: timeout,
            max_attempts: u32::MAX,
        };
        let label = format!("ddns: {}", self.label());
        policy
            .run(&label, || async {
                self.send_once(target).await.map_err(|e| {
                    if e.retryable {
                        Failed::Again(e.message)
                    } else {
                        Failed::Stop(e.message)
                    }
                })
            })
            .await
            .map_err(|gave_up| format!("{}: {}", self.label(), gave_up.message()))
    }
}
