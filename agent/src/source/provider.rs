//! Which instance source applies on this machine ([`detect`]), and the one enum that
//! dispatches to it.

use super::common::InstanceSource;
use super::{config_disk, ec2, fw_cfg, gce, lxd};
use crate::config::ProviderChoice;
use crate::identity::InstanceData;
use crate::paths::Paths;
use anyhow::{bail, Result};
use std::time::Duration;

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
    let ec2 = || {
        ec2::Ec2::new(
            &opts.ec2_endpoint,
            crate::retry::Retry::boot_default(opts.timeout),
        )
    };
    let gce = || {
        gce::Gce::new(
            &opts.gce_endpoint,
            crate::retry::Retry::boot_default(opts.timeout),
        )
    };
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
