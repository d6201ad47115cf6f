//! EC2 instance metadata, IMDSv2: a session token from `PUT /latest/api/token`, then every
//! read with that token.

use super::common::InstanceSource;
use super::user_data;
use crate::aws::imds::Imds;
use crate::aws::AwsError;
use crate::identity::InstanceData;
use crate::paths::Paths;
use crate::retry::Retry;
use anyhow::{anyhow, Result};

/// The instance-data source on EC2: the one IMDSv2 client ([`crate::aws::imds::Imds`])
/// rooted at a base URL (`http://169.254.169.254` on EC2), retrying as `retry` says.
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
}

/// The metadata client's error in the source's words: what failed, and the fix here
/// (the endpoint or the provider), not the scaling code's (the instance role).
fn source_error(e: AwsError) -> anyhow::Error {
    match e {
        AwsError::Imds { base, what } => anyhow!(
            "EC2 instance metadata at {base}: {what}; check source.ec2_endpoint and that the instance metadata service is enabled with IMDSv2, or set source.provider"
        ),
        other => anyhow!("{other}"),
    }
}

/// A text value; `None` for 404 or an empty answer.
async fn text(imds: &Imds, path: &str) -> Result<Option<String>> {
    Ok(imds
        .get(path)
        .await
        .map_err(source_error)?
        .filter(|s| !s.is_empty()))
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
        let imds = Imds::with_retry(&self.base, self.retry.clone()).map_err(source_error)?;
        let md = "/latest/meta-data";
        let instance_id = text(&imds, &format!("{md}/instance-id")).await?;
        let instance_type = text(&imds, &format!("{md}/instance-type")).await?;
        let public_ipv4 = parse_addr(
            "public-ipv4",
            text(&imds, &format!("{md}/public-ipv4")).await?,
        )?;
        let local_ipv4 = parse_addr(
            "local-ipv4",
            text(&imds, &format!("{md}/local-ipv4")).await?,
        )?;
        let ipv6 = parse_addr("ipv6", text(&imds, &format!("{md}/ipv6")).await?)?;
        // Checked as a region name here (dropped with a warning), not refused as
        // Imds::region does for the scaling code: relays then use bridge.region.
        let region = super::common::region_name(
            "EC2 instance",
            text(&imds, &format!("{md}/placement/region")).await?,
        );
        // The key pair the instance was launched with; 404 when it has none.
        let key_pair = text(&imds, &format!("{md}/public-keys/0/openssh-key")).await?;
        let user_data = match imds
            .get_bytes("/latest/user-data")
            .await
            .map_err(source_error)?
        {
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
