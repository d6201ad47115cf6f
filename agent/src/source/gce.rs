//! Google Compute Engine's metadata server: plain GETs below `/computeMetadata/v1/` with
//! the header `Metadata-Flavor: Google`, which the server requires and sends back.
//!
//! The base URL is `http://169.254.169.254` by default rather than the name
//! `metadata.google.internal`: the address is fixed, and the name resolves only through
//! Google's DNS or the guest environment's /etc/hosts entry, neither of which a first boot
//! of our image can count on before the network is fully up.

use super::common::InstanceSource;
use super::ec2::without_url;
use super::user_data;
use crate::aws::imds::METADATA_LIMIT;
use crate::identity::InstanceData;
use crate::paths::Paths;
use crate::retry::{Failed, Retry};
use anyhow::{anyhow, bail, Context, Result};
use reqwest::StatusCode;

/// The instance attribute that holds our TOML (optionally gzip+base64).
pub const CONFIG_ATTRIBUTE: &str = "meet-agent-config";

/// The header the metadata server requires on requests and sends on answers.
const FLAVOR_HEADER: &str = "Metadata-Flavor";
const FLAVOR: &str = "Google";

/// A client of the metadata server rooted at a base URL (`http://169.254.169.254` on
/// Compute Engine).
pub struct Gce {
    base: String,
    retry: Retry,
}

/// Whether the machine's DMI data says it is a Compute Engine instance.
pub fn looks_like_gce(paths: &Paths) -> bool {
    let read = |p: &str| std::fs::read_to_string(paths.join(p)).unwrap_or_default();
    read("/sys/class/dmi/id/product_name").trim() == "Google Compute Engine"
        || read("/sys/class/dmi/id/bios_vendor").trim() == "Google"
        || read("/sys/class/dmi/id/sys_vendor").trim() == "Google"
}

impl Gce {
    /// A client for the metadata server at `base` (no trailing slash needed).
    pub fn new(base: &str, retry: Retry) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            retry,
        }
    }

    fn client(&self) -> Result<reqwest::Client> {
        crate::http_body::local_client(self.retry.request_timeout)
            .context("failed to build the HTTP client")
    }

    /// GETs `instance/...` below `/computeMetadata/v1/`, retrying connection errors and
    /// 5xx answers until the deadline; `None` for 404 (the key does not apply here).
    async fn get(&self, client: &reqwest::Client, key: &str) -> Result<Option<Vec<u8>>> {
        let path = format!("/computeMetadata/v1/{key}");
        let label = format!("Compute Engine metadata GET {}{path}", self.base);
        let answer = self
            .retry
            .run(&label, || self.attempt(client, &path))
            .await
            .map_err(|gave_up| {
                anyhow!(
                    "Compute Engine metadata at {}: {}; {}",
                    self.base,
                    gave_up.message(),
                    gave_up.error.fix
                )
            })?;
        match answer {
            (StatusCode::OK, body) => Ok(Some(body)),
            (StatusCode::NOT_FOUND, _) => Ok(None),
            (other, _) => bail!(
                "Compute Engine metadata at {}: GET {path} answered {other}",
                self.base
            ),
        }
    }

    /// One GET: no answer or a server error may pass; an answer without the flavor
    /// header, a redirect or an oversized body will not.
    async fn attempt(
        &self,
        client: &reqwest::Client,
        path: &str,
    ) -> Result<(StatusCode, Vec<u8>), Failed<Problem>> {
        let endpoint_fix = "check source.gce_endpoint, or set source.provider";
        let problem = |what: String, fix: &str| Problem {
            what: format!("GET {path} {what}"),
            fix: fix.to_string(),
        };
        let unreachable =
            "check that the instance can reach its metadata server, or set source.provider";
        let request = client
            .get(format!("{}{path}", self.base))
            .header(FLAVOR_HEADER, FLAVOR);
        let response = request.send().await.map_err(|e| {
            Failed::Again(problem(
                format!("did not answer ({})", without_url(&e)),
                unreachable,
            ))
        })?;
        let status = response.status();
        if status.is_server_error() {
            return Err(Failed::Again(problem(
                format!("answered {status}"),
                unreachable,
            )));
        }
        let flavor = response
            .headers()
            .get(FLAVOR_HEADER)
            .is_some_and(|v| v.as_bytes() == FLAVOR.as_bytes());
        if !flavor {
            return Err(Failed::Stop(problem(
                format!("answered {status} without `{FLAVOR_HEADER}: {FLAVOR}`, so it is not the metadata server"),
                endpoint_fix,
            )));
        }
        if status.is_redirection() {
            return Err(Failed::Stop(problem(
                format!("answered {status}, a redirect, which the metadata server never sends; nothing is followed"),
                endpoint_fix,
            )));
        }
        let body = crate::http_body::read_capped(response, METADATA_LIMIT)
            .await
            .map_err(|e| {
                Failed::Stop(Problem {
                    what: format!("GET {path}: {e}"),
                    fix: format!(
                        "the {CONFIG_ATTRIBUTE} attribute and other metadata are limited to {}",
                        crate::http_body::size(METADATA_LIMIT)
                    ),
                })
            })?;
        Ok((status, body))
    }

    async fn get_text(&self, client: &reqwest::Client, key: &str) -> Result<Option<String>> {
        Ok(self
            .get(client, key)
            .await?
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .filter(|s| !s.is_empty()))
    }
}

/// A failed GET: what happened, and what to check.
#[derive(Debug)]
struct Problem {
    what: String,
    fix: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.what)
    }
}

/// The first address of a metadata value (a list holds one a line).
fn parse_addr<T: std::str::FromStr>(key: &str, value: Option<String>) -> Result<Option<T>> {
    value
        .map(|v| {
            let first = v.lines().next().unwrap_or_default().trim().to_string();
            first
                .parse()
                .map_err(|_| anyhow!("Compute Engine metadata: {key} is `{first}`, not an address"))
        })
        .transpose()
}

/// Our configuration from the attribute's value: TOML as it stands, or base64 of TOML or of
/// gzip-compressed TOML (what `meet-agent cert encode`-style helpers and `gzip | base64`
/// make). TOML itself is never valid base64 (a table header has brackets, a key `=`).
fn attribute_config(bytes: Vec<u8>) -> Result<crate::config::Fragment> {
    let origin = format!("Compute Engine attribute {CONFIG_ATTRIBUTE}");
    let decoded = std::str::from_utf8(&bytes)
        .ok()
        .filter(|t| !t.trim().is_empty())
        .and_then(crate::encoding::base64_decode);
    user_data::our_text(&origin, decoded.unwrap_or(bytes))
}

/// The region of a zone path (`projects/N/zones/europe-west1-b` gives `europe-west1`).
fn zone_region(zone: &str) -> Option<String> {
    let name = zone.rsplit('/').next()?;
    let (region, letter) = name.rsplit_once('-')?;
    (!region.is_empty() && !letter.is_empty()).then(|| region.to_string())
}

impl InstanceSource for Gce {
    fn name(&self) -> &'static str {
        "gce"
    }

    async fn fetch(&self) -> Result<InstanceData> {
        let client = self.client()?;
        let instance_id = self.get_text(&client, "instance/id").await?;
        // `projects/123456789/machineTypes/e2-standard-4`: the name is the last segment.
        let instance_type = self
            .get_text(&client, "instance/machine-type")
            .await?
            .and_then(|t| t.rsplit('/').next().map(str::to_string))
            .filter(|t| !t.is_empty());
        // `projects/123456789/zones/europe-west1-b`: the region is the zone's name without
        // its last `-letter` (europe-west1).
        let region = super::common::region_name(
            "Compute Engine",
            self.get_text(&client, "instance/zone")
                .await?
                .as_deref()
                .and_then(zone_region),
        );
        let nic = "instance/network-interfaces/0";
        let public_ipv4 = parse_addr(
            "external-ip",
            self.get_text(&client, &format!("{nic}/access-configs/0/external-ip"))
                .await?,
        )?;
        let local_ipv4 = parse_addr("ip", self.get_text(&client, &format!("{nic}/ip")).await?)?;
        let ipv6 = parse_addr(
            "ipv6s",
            self.get_text(&client, &format!("{nic}/ipv6s")).await?,
        )?;
        let config = match self
            .get(&client, &format!("instance/attributes/{CONFIG_ATTRIBUTE}"))
            .await?
        {
            Some(bytes) if !bytes.iter().all(u8::is_ascii_whitespace) => {
                Some(attribute_config(bytes)?)
            }
            _ => None,
        };
        Ok(InstanceData {
            provider: self.name().into(),
            instance_id,
            instance_type,
            public_ipv4,
            local_ipv4,
            ipv6,
            region,
            config,
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zone_path_gives_its_region() {
        assert_eq!(
            zone_region("projects/123456789012/zones/europe-west1-b").as_deref(),
            Some("europe-west1")
        );
        assert_eq!(zone_region("us-central1-a").as_deref(), Some("us-central1"));
        assert_eq!(zone_region("projects/1/zones/"), None);
        assert_eq!(zone_region("nodash"), None);
    }

    #[test]
    fn the_attribute_is_toml_or_base64_of_toml_or_of_gzip() {
        let toml = "[server]\ndomain = \"meet.example.org\"\n";
        let gz_b64 = crate::encoding::gzip_base64(toml.as_bytes()).unwrap();
        let b64 = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(toml)
        };
        let wrapped: String = gz_b64
            .as_bytes()
            .chunks(20)
            .map(|c| format!("{}\n", String::from_utf8_lossy(c)))
            .collect();
        for value in [toml.to_string(), gz_b64, b64, wrapped] {
            let fragment = attribute_config(value.into_bytes()).unwrap();
            assert_eq!(fragment.text, toml);
            assert_eq!(
                fragment.origin,
                "Compute Engine attribute meet-agent-config"
            );
        }
        // base64 of something that is neither TOML text nor gzip.
        let err = attribute_config(b"//79AA==".to_vec()).unwrap_err();
        assert!(format!("{err:#}").contains("not UTF-8"), "{err:#}");
    }
}
