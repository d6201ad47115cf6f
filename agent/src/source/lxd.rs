//! LXD's guest API (devlxd): HTTP over the Unix socket `/dev/lxd/sock`.

use super::common::{config_fragment, InstanceSource};
use crate::identity::InstanceData;
use anyhow::{anyhow, bail, Context, Result};
use http_body_util::{BodyExt, Empty, LengthLimitError, Limited};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use tokio::net::UnixStream;

/// The instance configuration key holding our TOML.
pub const CONFIG_KEY: &str = "user.meet-agent.config";

/// The most read of any one devlxd answer: our configuration is at most
/// [`crate::fsutil::CONFIG_LIMIT`], the rest is small JSON; more is refused, not held.
const ANSWER_LIMIT: usize = crate::aws::imds::METADATA_LIMIT;

/// A devlxd client on a Unix socket path.
pub struct Lxd {
    socket: PathBuf,
    timeout: Duration,
}

#[derive(Deserialize)]
struct Device {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(rename = "ipv4.address")]
    ipv4: Option<String>,
    #[serde(rename = "ipv6.address")]
    ipv6: Option<String>,
}

#[derive(Deserialize)]
struct Info {
    #[serde(default)]
    instance_type: Option<String>,
}

impl Lxd {
    /// A client for the devlxd socket at `socket`, each request bounded by `timeout`.
    pub fn new(socket: PathBuf, timeout: Duration) -> Self {
        Self { socket, timeout }
    }

    /// GETs `path`; `None` for 404.
    async fn get(&self, path: &str) -> Result<Option<Bytes>> {
        let sock = self.socket.display();
        let request = async {
            let stream = UnixStream::connect(&self.socket)
                .await
                .with_context(|| format!("LXD guest API at {sock}: cannot connect"))?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .with_context(|| format!("LXD guest API at {sock}: HTTP handshake failed"))?;
            tokio::spawn(conn);
            let req = Request::get(path)
                .header("Host", "lxd")
                .body(Empty::<Bytes>::new())?;
            let response = sender
                .send_request(req)
                .await
                .with_context(|| format!("LXD guest API at {sock}: GET {path} failed"))?;
            let status = response.status();
            let too_large = || {
                anyhow!(
                    "LXD guest API at {sock}: GET {path}: {}; {CONFIG_KEY} and other values are limited to it",
                    crate::http_body::BodyError::TooLarge(ANSWER_LIMIT)
                )
            };
            let declared = response
                .headers()
                .get(hyper::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            if crate::http_body::declared_too_large(declared, ANSWER_LIMIT) {
                return Err(too_large());
            }
            let body = match Limited::new(response.into_body(), ANSWER_LIMIT)
                .collect()
                .await
            {
                Ok(collected) => collected.to_bytes(),
                Err(e) if e.is::<LengthLimitError>() => return Err(too_large()),
                Err(e) => bail!("LXD guest API at {sock}: reading GET {path} failed: {e}"),
            };
            match status {
                StatusCode::OK => Ok(Some(body)),
                StatusCode::NOT_FOUND => Ok(None),
                other => bail!(
                    "LXD guest API at {sock}: GET {path} answered {other}: {}",
                    String::from_utf8_lossy(&body).trim()
                ),
            }
        };
        tokio::time::timeout(self.timeout, request)
            .await
            .map_err(|_| {
                anyhow!(
                    "LXD guest API at {sock}: GET {path} timed out after {:?}",
                    self.timeout
                )
            })?
    }
}

/// The first address in an LXD address value (it may carry a prefix length).
fn first_addr<T: std::str::FromStr>(value: &Option<String>) -> Option<T> {
    value.as_deref()?.split('/').next()?.trim().parse().ok()
}

impl InstanceSource for Lxd {
    fn name(&self) -> &'static str {
        "lxd"
    }

    async fn fetch(&self) -> Result<InstanceData> {
        let info: Info = match self.get("/1.0").await? {
            Some(body) => {
                serde_json::from_slice(&body).context("LXD guest API: /1.0 is not JSON")?
            }
            None => bail!(
                "LXD guest API at {}: /1.0 is missing",
                self.socket.display()
            ),
        };
        // The instance name is the `instance-id` in devlxd's cloud-init style meta-data.
        let instance_id = self.get("/1.0/meta-data").await?.and_then(|body| {
            String::from_utf8_lossy(&body).lines().find_map(|line| {
                line.strip_prefix("instance-id:")
                    .map(|v| v.trim().to_string())
            })
        });
        // Older LXD has no /1.0/devices; then LXD knows no static addresses to report.
        let devices: BTreeMap<String, Device> = match self.get("/1.0/devices").await? {
            Some(body) => {
                serde_json::from_slice(&body).context("LXD guest API: /1.0/devices is not JSON")?
            }
            None => BTreeMap::new(),
        };
        let nics = devices.values().filter(|d| d.kind == "nic");
        let local_ipv4 = nics.clone().find_map(|d| first_addr(&d.ipv4));
        let ipv6 = nics.clone().find_map(|d| first_addr(&d.ipv6));
        let config = match self.get(&format!("/1.0/config/{CONFIG_KEY}")).await? {
            Some(body) if !body.is_empty() => Some(config_fragment(
                &format!("LXD {CONFIG_KEY}"),
                body.to_vec(),
            )?),
            _ => None,
        };
        Ok(InstanceData {
            provider: self.name().into(),
            instance_id,
            instance_type: info.instance_type,
            public_ipv4: None,
            local_ipv4,
            ipv6,
            config,
            ..Default::default()
        })
    }
}
