//! Instance sources: where a booted machine learns who it is.
//!
//! Each provider takes its endpoint or root path in its constructor; [`detect`] is the one
//! place that decides which applies. A provider that is present but broken is an error,
//! never a silent fallback to another provider.

pub mod config_disk;
pub mod ec2;
pub mod fw_cfg;
pub mod gce;
pub mod lxd;
pub mod user_data;

use crate::config::{Fragment, ProviderChoice};
use crate::paths::Paths;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// What a provider reports about this instance.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct InstanceData {
    /// The provider's name (`ec2`, `gce`, `lxd`, `config-disk`, `fw-cfg`, `none`).
    pub provider: String,
    /// The provider's id for this instance, if it has one.
    pub instance_id: Option<String>,
    /// The instance type or size name (EC2 instance type, LXD instance type).
    pub instance_type: Option<String>,
    /// Public IPv4 as the provider knows it.
    pub public_ipv4: Option<Ipv4Addr>,
    /// Private IPv4 as the provider knows it.
    pub local_ipv4: Option<Ipv4Addr>,
    /// IPv6 as the provider knows it.
    pub ipv6: Option<Ipv6Addr>,
    /// The provider's region (EC2's `placement/region`, Compute Engine's zone without its
    /// letter): the bridge's relay region and jicofo's local region when `bridge.region`
    /// is not set, so bridges in one region of a deployment group together by themselves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The public key of the instance's key pair (EC2's `public-keys/0/openssh-key`), as
    /// the provider gave it; the access step checks it before use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_pair: Option<String>,
    /// What the provider's user-data held that is cloud-init's and was left alone, one
    /// sentence for status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data_note: Option<String>,
    /// Our TOML, if the provider carries some.
    #[serde(skip)]
    pub config: Option<Fragment>,
}

/// A place instance data comes from.
pub trait InstanceSource {
    /// The provider's name, as shown in status.
    fn name(&self) -> &'static str;
    /// Fetches everything this provider knows.
    fn fetch(&self) -> impl std::future::Future<Output = Result<InstanceData>>;
}

/// The chosen provider.
pub enum Provider {
    /// EC2 IMDSv2.
    Ec2(ec2::Ec2),
    /// Compute Engine's metadata server.
    Gce(gce::Gce),
    /// LXD's guest API.
    Lxd(lxd::Lxd),
    /// A `cidata` disk.
    ConfigDisk(config_disk::ConfigDisk),
    /// QEMU fw_cfg.
    FwCfg(fw_cfg::FwCfg),
    /// No provider: local configuration only.
    None,
}

impl Provider {
    /// Fetches the instance data (for `None`, an empty record).
    pub async fn fetch(&self) -> Result<InstanceData> {
        match self {
            Provider::Ec2(p) => p.fetch().await,
            Provider::Gce(p) => p.fetch().await,
            Provider::Lxd(p) => p.fetch().await,
            Provider::ConfigDisk(p) => p.fetch().await,
            Provider::FwCfg(p) => p.fetch().await,
            Provider::None => Ok(InstanceData {
                provider: "none".into(),
                ..Default::default()
            }),
        }
    }
}

/// Endpoints and limits for building providers.
pub struct SourceOptions {
    /// EC2 metadata base URL.
    pub ec2_endpoint: String,
    /// Compute Engine metadata base URL.
    pub gce_endpoint: String,
    /// One base URL for AWS's APIs instead of the region's (`source.aws_endpoint`).
    pub aws_endpoint: Option<String>,
    /// How long to keep trying a provider that does not answer yet.
    pub timeout: Duration,
}

/// Picks the provider: the explicit choice, or for `auto` the first of LXD socket, EC2
/// (DMI vendor), Compute Engine (DMI product or BIOS vendor), fw_cfg entry, cidata disk that
/// the machine shows.
pub fn detect(paths: &Paths, choice: ProviderChoice, opts: &SourceOptions) -> Result<Provider> {
    let lxd_socket = paths.join("/dev/lxd/sock");
    let fw_cfg_entry = paths.join(fw_cfg::ENTRY);
    let disk = config_disk::find_device(paths);
    let ec2 = || ec2::Ec2::new(&opts.ec2_endpoint, ec2::Retry::boot_default(opts.timeout));
    let gce = || gce::Gce::new(&opts.gce_endpoint, ec2::Retry::boot_default(opts.timeout));
    Ok(match choice {
        ProviderChoice::None => Provider::None,
        ProviderChoice::Ec2 => Provider::Ec2(ec2()),
        ProviderChoice::Gce => Provider::Gce(gce()),
        ProviderChoice::Lxd => Provider::Lxd(lxd::Lxd::new(lxd_socket, opts.timeout)),
        ProviderChoice::FwCfg => Provider::FwCfg(fw_cfg::FwCfg::new(fw_cfg_entry)),
        ProviderChoice::ConfigDisk => match disk {
            Some(device) => Provider::ConfigDisk(config_disk::ConfigDisk::from_device(paths, device)),
            None => bail!(
                "source.provider is config-disk but no disk labelled cidata is attached (looked in {})",
                paths.join("/dev/disk/by-label").display()
            ),
        },
        ProviderChoice::Auto => {
            if lxd_socket.exists() {
                Provider::Lxd(lxd::Lxd::new(lxd_socket, opts.timeout))
            } else if ec2::looks_like_ec2(paths) {
                Provider::Ec2(ec2())
            } else if gce::looks_like_gce(paths) {
                Provider::Gce(gce())
            } else if fw_cfg_entry.exists() {
                Provider::FwCfg(fw_cfg::FwCfg::new(fw_cfg_entry))
            } else if let Some(device) = disk {
                Provider::ConfigDisk(config_disk::ConfigDisk::from_device(paths, device))
            } else {
                Provider::None
            }
        }
    })
}

/// A region name from a metadata service, if it looks like one (1 to 64 letters, digits,
/// '-' or '_', as `bridge.region` must): it ends up quoted in jvb.conf and jicofo.conf, so
/// anything else is dropped with a warning rather than trusted.
pub fn region_name(provider: &str, value: Option<String>) -> Option<String> {
    let value = value?;
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
    if !ok {
        tracing::warn!(
            "{provider} metadata gave the region `{}`, which is not a region name; relays use bridge.region or \"{}\"",
            value.escape_debug(),
            crate::vocab::ports::DEFAULT_REGION
        );
        return None;
    }
    Some(value)
}

/// Turns raw instance configuration bytes (maybe gzip) into a fragment named `origin`.
pub fn config_fragment(origin: &str, bytes: Vec<u8>) -> Result<Fragment> {
    let bytes = crate::encoding::maybe_gunzip(bytes, crate::fsutil::CONFIG_LIMIT).map_err(|e| {
        anyhow::anyhow!("{origin}: {e:#}; instance configuration is limited to 1 MiB")
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!(
            "{origin}: not UTF-8 text; it must be meet-agent TOML, optionally gzip-compressed"
        )
    })?;
    Ok(Fragment {
        origin: origin.to_string(),
        text,
    })
}
