//! Calls to AWS from a videobridge in an Auto Scaling group: CloudWatch `PutMetricData`
//! (the scaling signal), Auto Scaling `CompleteLifecycleAction` and
//! `RecordLifecycleActionHeartbeat` (scale-in without cutting meetings),
//! `DescribeLifecycleHooks` (the drain's time limits, from the hook itself) and SSM
//! `GetParameter` (the join token, a SecureString), all with the instance role's
//! credentials from the instance metadata service (IMDSv2).
//!
//! Why these dependencies: requests are signed with AWS's own SigV4 signer, `aws-sigv4`
//! (with `aws-credential-types` for the credentials it takes), never by hand: signing is
//! easy to get subtly wrong (canonical headers, query encoding, session tokens) and the
//! crate is the one every AWS Rust SDK uses. It is pure Rust (hmac, sha2) and brings no
//! HTTP client or TLS of its own, so the tree keeps reqwest with rustls and ring and no
//! OpenSSL. The whole AWS SDK (aws-config, aws-sdk-*) is not used: it would add
//! aws-lc-rs or a second HTTP stack and hundreds of crates for five calls.
//!
//! Wiring (source/ssm.rs and scale/service.rs do it): build an [`imds::Imds`] on
//! `http://169.254.169.254` (the launch template must set `HttpTokens: required` and, for
//! the group name, `InstanceMetadataTags: enabled`), read the region with
//! [`imds::Imds::region`], then [`api::Aws::new`] with [`api::Endpoints::for_region`].
//! Every base URL is a constructor argument so tests point them at loopback stand-ins.
//!
//! Least privilege for the bridges' instance role (for the CloudFormation template):
//! `cloudwatch:PutMetricData` with the condition `cloudwatch:namespace = RyoJitsi`;
//! `autoscaling:CompleteLifecycleAction` and `autoscaling:RecordLifecycleActionHeartbeat`
//! on the bridges' group ARN only; `autoscaling:DescribeLifecycleHooks` on `*` (AWS's
//! Describe actions take no resource-level permission); `ssm:GetParameter` on the join token's parameter ARN
//! only, and `kms:Decrypt` on its key when that is not the account's `aws/ssm` key.

pub mod api;
pub mod credentials;
pub mod imds;
pub mod s3;
pub mod sign;

/// What went wrong talking to the metadata service or an AWS API; callers branch on the
/// kind (an IAM refusal is an operator's fix, a transport error is retried).
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// The instance metadata service did not answer as expected.
    #[error("EC2 instance metadata at {base}: {what}; check that the metadata service is on with IMDSv2 tokens and that the instance has a role")]
    Imds {
        /// The metadata service's base URL.
        base: String,
        /// What failed, naming the path.
        what: String,
    },
    /// The request could not be sent or its answer not read.
    #[error("AWS {service} {action} at {endpoint} got no answer ({detail}); check the network path to the endpoint")]
    Transport {
        /// The service (monitoring, autoscaling, ssm).
        service: &'static str,
        /// The API action.
        action: &'static str,
        /// The endpoint URL.
        endpoint: String,
        /// Why, in one line.
        detail: String,
    },
    /// AWS answered with an error (IAM refusal, throttling, bad parameter, bad signature).
    #[error("AWS {service} {action} was refused: {status} {code}: {message}; check the instance role's IAM policy and the parameters named")]
    Api {
        /// The service.
        service: &'static str,
        /// The API action.
        action: &'static str,
        /// The HTTP status.
        status: u16,
        /// AWS's error code, e.g. `AccessDenied`, `SignatureDoesNotMatch`, `ParameterNotFound`.
        code: String,
        /// AWS's message.
        message: String,
    },
    /// The endpoint answered with a redirect, which AWS's query and JSON APIs never send:
    /// whatever answers there is not AWS, and the signed request (with the role's session
    /// token) is not sent on to where it points.
    #[error("AWS {service} {action} at {endpoint} answered HTTP {status}, a redirect, which AWS never sends (not followed); check source.aws_endpoint and the network path to the endpoint")]
    Redirect {
        /// The service.
        service: &'static str,
        /// The API action.
        action: &'static str,
        /// The endpoint URL.
        endpoint: String,
        /// The HTTP status (3xx).
        status: u16,
    },
    /// AWS answered success with a body we could not read.
    #[error("AWS {service} {action} answered something unreadable ({detail}); the endpoint may not be AWS")]
    Answer {
        /// The service.
        service: &'static str,
        /// The API action.
        action: &'static str,
        /// What was wrong with it.
        detail: String,
    },
    /// A local file to send could not be read, or cannot be sent as it is.
    #[error("{detail}")]
    File {
        /// What and why, naming the path.
        detail: String,
    },
    /// The request could not be signed (bad endpoint URL or credentials).
    #[error("could not sign the AWS {service} {action} request: {detail}")]
    Signing {
        /// The service.
        service: &'static str,
        /// The API action.
        action: &'static str,
        /// Why.
        detail: String,
    },
}

impl AwsError {
    /// AWS's error code when AWS refused the call.
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

pub(crate) use crate::http_body::one_line;

/// The HTTP client the AWS API clients share the settings of (no redirects, a body
/// ceiling, `timeout` a request), or why it cannot be made, for `service`.
pub(crate) fn http_client(
    service: &'static str,
    timeout: std::time::Duration,
) -> Result<reqwest::Client, AwsError> {
    crate::http_body::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| AwsError::Transport {
            service,
            action: "setup",
            endpoint: String::new(),
            detail: one_line(&e),
        })
}
