//! EC2 instance metadata, IMDSv2: a session token from `PUT /latest/api/token`, then every
//! read with that token.

use super::common::InstanceSource;
use super::user_data;
use crate::identity::InstanceData;
use crate::paths::Paths;
use anyhow::{anyhow, bail, Context, Result};
use reqwest::{Method, StatusCode};
use std::time::{Duration, Instant};

const TOKEN_TTL_SECONDS: &str = "21600";

/// The most read of any one metadata answer: user-data is our configuration (at most
/// [`crate::fsutil::CONFIG_LIMIT`] once unpacked, and EC2 itself allows 16 KiB), and every
/// other value is a line. An endless or huge answer is refused, not held in memory.
pub const METADATA_LIMIT: usize = crate::fsutil::CONFIG_LIMIT as usize;

/// How long and how often to retry a metadata service that does not answer yet (early in
/// boot the link-local route may be missing for a moment).
#[derive(Debug, Clone)]
pub struct Retry {
    /// Give up after this long.
    pub deadline: Duration,
    /// First pause between attempts; doubles up to `max_backoff`.
    pub backoff: Duration,
    /// Longest pause between attempts.
    pub max_backoff: Duration,
    /// Timeout of one request.
    pub request_timeout: Duration,
}

impl Retry {
    /// Boot defaults within an overall `deadline`.
    pub fn boot_default(deadline: Duration) -> Self {
        Self {
            deadline,
            backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            request_timeout: Duration::from_secs(5),
        }
    }
}

/// An IMDSv2 client rooted at a base URL (`http://169.254.169.254` on EC2).
pub struct Ec2 {
    base: String,
    retry: Retry,
}

/// Whether the machine's DMI data says it is an EC2 instance (Nitro and Xen both).
pub fn looks_like_ec2(paths: &Paths) -> bool {
    let read = |p: &str| std::fs::read_to_string(paths.join(p)).unwrap_or_default();
    read("/sys/class/dmi/id/sys_vendor").trim() == "Amazon EC2"
        || read("/sys/class/dmi/id/board_vendor").trim() == "Amazon EC2"
        || read("/sys/hypervisor/uuid").starts_with("ec2")
}

impl Ec2 {
    /// A client for the metadata service at `base` (no trailing slash needed).
    pub fn new(base: &str, retry: Retry) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            retry,
        }
    }

    fn client(&self) -> Result<reqwest::Client> {
        crate::http_body::builder()
            .timeout(self.retry.request_timeout)
            .no_proxy()
            .build()
            .context("failed to build the HTTP client")
    }

    /// Sends one request, retrying connection errors and 5xx answers until the deadline.
    async fn send(
        &self,
        client: &reqwest::Client,
        method: Method,
        path: &str,
        token: Option<&str>,
    ) -> Result<(StatusCode, Vec<u8>)> {
        let url = format!("{}{path}", self.base);
        let start = Instant::now();
        let mut pause = self.retry.backoff;
        loop {
            let mut request = client.request(method.clone(), &url);
            request = match token {
                Some(t) => request.header("X-aws-ec2-metadata-token", t),
                None => request.header("X-aws-ec2-metadata-token-ttl-seconds", TOKEN_TTL_SECONDS),
            };
            let problem = match request.send().await {
                Ok(response) if response.status().is_redirection() => bail!(
                    "EC2 instance metadata at {}: {method} {path} answered {}, a redirect, which the metadata service never sends: something else answers there, so nothing is sent on; check source.ec2_endpoint, or set source.provider",
                    self.base,
                    response.status()
                ),
                Ok(response) if !response.status().is_server_error() => {
                    let status = response.status();
                    let body = crate::http_body::read_capped(response, METADATA_LIMIT)
                        .await
                        .map_err(|e| {
                            anyhow!(
                                "EC2 instance metadata at {}: {method} {path}: {e}; instance configuration and metadata are limited to {}",
                                self.base,
                                crate::http_body::size(METADATA_LIMIT)
                            )
                        })?;
                    return Ok((status, body));
                }
                Ok(response) => format!("answered {}", response.status()),
                Err(e) => format!("did not answer ({})", without_url(&e)),
            };
            if start.elapsed() + pause > self.retry.deadline {
                bail!(
                    "EC2 instance metadata at {}: {method} {path} {problem} (gave up after {:.0?}); check that the instance metadata service is enabled with IMDSv2, or set source.provider",
                    self.base,
                    start.elapsed()
                );
            }
            tracing::debug!("{method} {url} {problem}; retrying in {pause:?}");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(self.retry.max_backoff);
        }
    }

    /// Reads a metadata path; `None` for 404 (the key does not apply to this instance).
    async fn get(
        &self,
        client: &reqwest::Client,
        token: &str,
        path: &str,
    ) -> Result<Option<Vec<u8>>> {
        match self.send(client, Method::GET, path, Some(token)).await? {
            (StatusCode::OK, body) => Ok(Some(body)),
            (StatusCode::NOT_FOUND, _) => Ok(None),
            (status, _) => bail!(
                "EC2 instance metadata at {}: GET {path} answered {status}",
                self.base
            ),
        }
    }

    async fn get_text(
        &self,
        client: &reqwest::Client,
        token: &str,
        path: &str,
    ) -> Result<Option<String>> {
        Ok(self
            .get(client, token, path)
            .await?
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .filter(|s| !s.is_empty()))
    }
}

/// A reqwest error as one line: what kind of failure, and its causes (shared with the AWS
/// and bridge clients).
pub(super) use crate::aws::one_line as without_url;

fn parse_addr<T: std::str::FromStr>(what: &str, value: Option<String>) -> Result<Option<T>> {
    value
        .map(|v| {
            // `ipv6` may list several addresses, one per line; the first is the primary.
            let first = v.lines().next().unwrap_or_default().trim().to_string();
            first
                .parse()
                .map_err(|_| anyhow!("EC2 instance metadata: {what} is `{first}`, not an address"))
        })
        .transpose()
}

impl InstanceSource for Ec2 {
    fn name(&self) -> &'static str {
        "ec2"
    }

    async fn fetch(&self) -> Result<InstanceData> {
        let client = self.client()?;
        let token = match self.send(&client, Method::PUT, "/latest/api/token", None).await? {
            (StatusCode::OK, body) => String::from_utf8_lossy(&body).trim().to_string(),
            (status, _) => bail!(
                "EC2 instance metadata at {}: PUT /latest/api/token answered {status}; IMDSv2 tokens are required",
                self.base
            ),
        };
        let md = "/latest/meta-data";
        let instance_id = self
            .get_text(&client, &token, &format!("{md}/instance-id"))
            .await?;
        let instance_type = self
            .get_text(&client, &token, &format!("{md}/instance-type"))
            .await?;
        let public_ipv4 = parse_addr(
            "public-ipv4",
            self.get_text(&client, &token, &format!("{md}/public-ipv4"))
                .await?,
        )?;
        let local_ipv4 = parse_addr(
            "local-ipv4",
            self.get_text(&client, &token, &format!("{md}/local-ipv4"))
                .await?,
        )?;
        let ipv6 = parse_addr(
            "ipv6",
            self.get_text(&client, &token, &format!("{md}/ipv6"))
                .await?,
        )?;
        let region = super::common::region_name(
            "EC2 instance",
            self.get_text(&client, &token, &format!("{md}/placement/region"))
                .await?,
        );
        // The key pair the instance was launched with; 404 when it has none.
        let key_pair = self
            .get_text(&client, &token, &format!("{md}/public-keys/0/openssh-key"))
            .await?;
        let user_data = match self.get(&client, &token, "/latest/user-data").await? {
            Some(bytes) => user_data::read("EC2 user-data", &bytes)?,
            None => user_data::UserData::default(),
        };
        Ok(InstanceData {
            provider: self.name().into(),
            instance_id,
            instance_type,
            public_ipv4,
            local_ipv4,
            ipv6,
            region,
            key_pair,
            user_data_note: user_data.left_alone,
            config: user_data.config,
        })
    }
}
