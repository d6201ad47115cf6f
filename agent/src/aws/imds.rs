//! The agent's one IMDSv2 client, for the instance-data source ([`crate::source::ec2`]) and
//! for what an Auto Scaling bridge reads while it runs (region, role credentials, lifecycle
//! state): a session token from `PUT /latest/api/token` (with its TTL header), then each
//! read with the token; no redirect followed, every answer capped. Each request follows a
//! [`Retry`] policy: the boot source retries until its deadline, the scaling loop and the
//! drain runner make single attempts ([`Imds::new`]) since they poll anyway.
//!
//! The Auto Scaling group name comes from the instance's tags in metadata
//! (`tags/instance/aws:autoscaling:groupName`), which AWS serves only when the launch
//! template sets `MetadataOptions: InstanceMetadataTags: enabled`.

use super::{one_line, AwsError};
use crate::retry::{Failed, Retry};
use reqwest::{Method, StatusCode};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a session token is asked for (seconds), and how long we reuse it.
const TOKEN_TTL_SECONDS: u64 = 21600;
const TOKEN_REUSE: Duration = Duration::from_secs(TOKEN_TTL_SECONDS - 600);

/// The most read of any one metadata answer: user-data is our configuration (at most
/// [`crate::fsutil::CONFIG_LIMIT`] once unpacked, and EC2 itself allows 16 KiB), and every
/// other value (a token, an id, the spot notice's JSON, role credentials) is a line or a
/// small document. An endless or huge answer is refused, not held in memory.
pub const METADATA_LIMIT: usize = crate::fsutil::CONFIG_LIMIT as usize;

/// Where the instance is in Auto Scaling's lifecycle, from
/// `autoscaling/target-lifecycle-state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleState {
    /// Serving.
    InService,
    /// Scale-in (or instance refresh) chose this instance: drain, then complete the hook.
    Terminated,
    /// In or entering a warm pool (`Warmed:Stopped`, `Warmed:Running`, `Warmed:Hibernated`).
    Warmed(String),
    /// A state this agent does not know; treated as "not terminating".
    Other(String),
}

impl LifecycleState {
    /// Parses the metadata value.
    pub fn parse(text: &str) -> Self {
        match text.trim() {
            "InService" => Self::InService,
            "Terminated" => Self::Terminated,
            s if s.starts_with("Warmed:") => Self::Warmed(s.to_string()),
            s => Self::Other(s.to_string()),
        }
    }
}

/// A spot interruption notice from `spot/instance-action`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct SpotNotice {
    /// `terminate`, `stop` or `hibernate`.
    pub action: String,
    /// When EC2 will act (RFC 3339, UTC): about two minutes after the notice.
    pub time: String,
}

/// An IMDSv2 client rooted at a base URL (`http://169.254.169.254` on EC2).
pub struct Imds {
    base: String,
    http: reqwest::Client,
    retry: Retry,
    token: Mutex<Option<(String, Instant)>>,
}

impl Imds {
    /// A client for the metadata service at `base` making single attempts that give up
    /// after `timeout` (for callers that poll).
    pub fn new(base: &str, timeout: Duration) -> Result<Self, AwsError> {
        Self::with_retry(base, Retry::once(timeout))
    }

    /// A client for the metadata service at `base` retrying each request as `retry` says:
    /// connection errors and 5xx answers are tried again, anything else is the answer.
    pub fn with_retry(base: &str, retry: Retry) -> Result<Self, AwsError> {
        let http =
            crate::http_body::local_client(retry.request_timeout).map_err(|e| AwsError::Imds {
                base: base.to_string(),
                what: format!("could not build the HTTP client ({})", one_line(&e)),
            })?;
        Ok(Self {
            base: base.trim_end_matches('/').to_string(),
            http,
            retry,
            token: Mutex::new(None),
        })
    }

    /// The base URL, for messages.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn error(&self, what: String) -> AwsError {
        AwsError::Imds {
            base: self.base.clone(),
            what,
        }
    }

    /// One request under the retry policy. A redirect is never followed: the metadata
    /// service never sends one, so whoever did gets nothing more (not the token, not the
    /// next request).
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
    ) -> Result<(StatusCode, Vec<u8>), AwsError> {
        let url = format!("{}{path}", self.base);
        let label = format!("EC2 instance metadata {method} {url}");
        let attempt = || async {
            let request = self.http.request(method.clone(), &url);
            let request = match token {
                Some(t) => request.header("X-aws-ec2-metadata-token", t),
                None => request.header(
                    "X-aws-ec2-metadata-token-ttl-seconds",
                    TOKEN_TTL_SECONDS.to_string(),
                ),
            };
            let response = request.send().await.map_err(|e| {
                Failed::Again(format!("{method} {path} did not answer ({})", one_line(&e)))
            })?;
            let status = response.status();
            if status.is_server_error() {
                return Err(Failed::Again(format!("{method} {path} answered {status}")));
            }
            if status.is_redirection() {
                return Err(Failed::Stop(format!(
                    "{method} {path} answered {status}, a redirect, which the metadata service never sends (not followed, and nothing more is sent there)"
                )));
            }
            let body = crate::http_body::read_capped(response, METADATA_LIMIT)
                .await
                .map_err(|e| Failed::Stop(format!("{method} {path}: {e}")))?;
            Ok((status, body))
        };
        self.retry
            .run(&label, attempt)
            .await
            .map_err(|gave_up| self.error(gave_up.message()))
    }

    async fn token(&self) -> Result<String, AwsError> {
        if let Ok(guard) = self.token.lock() {
            if let Some((token, at)) = guard.as_ref() {
                if at.elapsed() < TOKEN_REUSE {
                    return Ok(token.clone());
                }
            }
        }
        let path = "/latest/api/token";
        let token = match self.send(Method::PUT, path, None).await? {
            (StatusCode::OK, body) => String::from_utf8_lossy(&body).trim().to_string(),
            (status, _) => {
                return Err(self.error(format!(
                    "PUT {path} answered {status}; IMDSv2 tokens are required"
                )))
            }
        };
        if let Ok(mut guard) = self.token.lock() {
            *guard = Some((token.clone(), Instant::now()));
        }
        Ok(token)
    }

    /// Reads `path` (under the base, e.g. `/latest/user-data`) as it is; `None` on 404.
    /// A 401 (the token expired or the service restarted) gets one fresh token.
    pub async fn get_bytes(&self, path: &str) -> Result<Option<Vec<u8>>, AwsError> {
        for attempt in 0..2 {
            let token = self.token().await?;
            let (status, body) = self.send(Method::GET, path, Some(&token)).await?;
            if status == StatusCode::UNAUTHORIZED && attempt == 0 {
                if let Ok(mut guard) = self.token.lock() {
                    *guard = None;
                }
                continue;
            }
            return match status {
                StatusCode::OK => Ok(Some(body)),
                StatusCode::NOT_FOUND => Ok(None),
                other => Err(self.error(format!("GET {path} answered {other}"))),
            };
        }
        Err(self.error(format!("GET {path} answered 401 with a fresh token")))
    }

    /// Reads `path` as text, trimmed (invalid UTF-8 replaced); `None` on 404.
    pub async fn get(&self, path: &str) -> Result<Option<String>, AwsError> {
        Ok(self
            .get_bytes(path)
            .await?
            .map(|b| String::from_utf8_lossy(&b).trim().to_string()))
    }

    async fn required(&self, path: &str) -> Result<String, AwsError> {
        match self.get(path).await? {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(self.error(format!("GET {path} has no value"))),
        }
    }

    /// This instance's id.
    pub async fn instance_id(&self) -> Result<String, AwsError> {
        self.required("/latest/meta-data/instance-id").await
    }

    /// The region the instance runs in (for the API endpoints and the signature scope);
    /// it becomes part of the endpoints' host names, so a value that is not a region name
    /// ([`crate::well_formed::is_region_name`]) is an error.
    pub async fn region(&self) -> Result<String, AwsError> {
        let path = "/latest/meta-data/placement/region";
        let region = self.required(path).await?;
        if !crate::well_formed::is_region_name(&region) {
            return Err(self.error(format!(
                "GET {path} is `{}`, not a region name",
                crate::printable::printable(&region, 100)
            )));
        }
        Ok(region)
    }

    /// The Auto Scaling group's name, from the instance tag `aws:autoscaling:groupName`;
    /// `None` when the instance is in no group or tags in metadata are off (then the
    /// launch template must enable `InstanceMetadataTags`).
    pub async fn autoscaling_group(&self) -> Result<Option<String>, AwsError> {
        self.get("/latest/meta-data/tags/instance/aws:autoscaling:groupName")
            .await
    }

    /// Auto Scaling's target lifecycle state; `None` when the instance is in no group.
    pub async fn lifecycle_state(&self) -> Result<Option<LifecycleState>, AwsError> {
        Ok(self
            .get("/latest/meta-data/autoscaling/target-lifecycle-state")
            .await?
            .map(|s| LifecycleState::parse(&s)))
    }

    /// The spot interruption notice; `None` (404) when there is none.
    pub async fn spot_notice(&self) -> Result<Option<SpotNotice>, AwsError> {
        let path = "/latest/meta-data/spot/instance-action";
        match self.get(path).await? {
            None => Ok(None),
            Some(body) => serde_json::from_str(&body)
                .map(Some)
                .map_err(|e| self.error(format!("GET {path} is not the notice's JSON ({e})"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LifecycleState;

    #[test]
    fn lifecycle_states_parse() {
        assert_eq!(
            LifecycleState::parse("InService\n"),
            LifecycleState::InService
        );
        assert_eq!(
            LifecycleState::parse("Terminated"),
            LifecycleState::Terminated
        );
        assert_eq!(
            LifecycleState::parse("Warmed:Stopped"),
            LifecycleState::Warmed("Warmed:Stopped".into())
        );
        assert_eq!(
            LifecycleState::parse("Detached"),
            LifecycleState::Other("Detached".into())
        );
    }
}
