//! The instance metadata an Auto Scaling bridge reads while it runs, over IMDSv2 like
//! [`crate::source::ec2`]: a session token from `PUT /latest/api/token`, then each read with
//! the token. Reads are single attempts with a short timeout: the callers (the metrics
//! loop, the drain runner) poll, so a miss is simply retried on their next tick.
//!
//! The Auto Scaling group name comes from the instance's tags in metadata
//! (`tags/instance/aws:autoscaling:groupName`), which AWS serves only when the launch
//! template sets `MetadataOptions: InstanceMetadataTags: enabled`.

use super::{one_line, AwsError};
use reqwest::{Method, StatusCode};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a session token is asked for (seconds), and how long we reuse it.
const TOKEN_TTL_SECONDS: u64 = 21600;
const TOKEN_REUSE: Duration = Duration::from_secs(TOKEN_TTL_SECONDS - 600);

/// The most read of one answer: every value read here (a token, an id, a state, the spot
/// notice's JSON, role credentials) is well under a KiB; an endless answer is refused.
const ANSWER_LIMIT: usize = 64 << 10;

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
    token: Mutex<Option<(String, Instant)>>,
}

impl Imds {
    /// A client for the metadata service at `base`; each request gives up after `timeout`.
    pub fn new(base: &str, timeout: Duration) -> Result<Self, AwsError> {
        let http = crate::http_body::builder()
            .timeout(timeout)
            .no_proxy()
            .build()
            .map_err(|e| AwsError::Imds {
                base: base.to_string(),
                what: format!("could not build the HTTP client ({})", one_line(&e)),
            })?;
        Ok(Self {
            base: base.trim_end_matches('/').to_string(),
            http,
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

    /// A redirect: the metadata service never sends one, so whoever did gets nothing more
    /// (not the token, not the next request).
    fn redirected(&self, method: &str, path: &str, status: StatusCode) -> AwsError {
        self.error(format!(
            "{method} {path} answered {status}, a redirect, which the metadata service never sends (not followed)"
        ))
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
        let response = self
            .http
            .request(Method::PUT, format!("{}{path}", self.base))
            .header(
                "X-aws-ec2-metadata-token-ttl-seconds",
                TOKEN_TTL_SECONDS.to_string(),
            )
            .send()
            .await
            .map_err(|e| self.error(format!("PUT {path} {}", one_line(&e))))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(self.redirected("PUT", path, status));
        }
        let body = crate::http_body::read_capped_text(response, ANSWER_LIMIT)
            .await
            .map_err(|e| self.error(format!("PUT {path}: {e}")))?;
        if status != StatusCode::OK {
            return Err(self.error(format!("PUT {path} answered {status}")));
        }
        let token = body.trim().to_string();
        if let Ok(mut guard) = self.token.lock() {
            *guard = Some((token.clone(), Instant::now()));
        }
        Ok(token)
    }

    /// Reads `path` (under the base, e.g. `/latest/meta-data/instance-id`); `None` on 404.
    /// A 401 (the token expired or the service restarted) gets one fresh token.
    pub async fn get(&self, path: &str) -> Result<Option<String>, AwsError> {
        for attempt in 0..2 {
            let token = self.token().await?;
            let response = self
                .http
                .get(format!("{}{path}", self.base))
                .header("X-aws-ec2-metadata-token", token)
                .send()
                .await
                .map_err(|e| self.error(format!("GET {path} {}", one_line(&e))))?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && attempt == 0 {
                if let Ok(mut guard) = self.token.lock() {
                    *guard = None;
                }
                continue;
            }
            if status.is_redirection() {
                return Err(self.redirected("GET", path, status));
            }
            let body = crate::http_body::read_capped_text(response, ANSWER_LIMIT)
                .await
                .map_err(|e| self.error(format!("GET {path}: {e}")))?;
            return match status {
                StatusCode::OK => Ok(Some(body.trim().to_string())),
                StatusCode::NOT_FOUND => Ok(None),
                other => Err(self.error(format!("GET {path} answered {other}"))),
            };
        }
        Err(self.error(format!("GET {path} answered 401 with a fresh token")))
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
