//! A config disk labelled `cidata` (the NoCloud convention), holding `meet-agent.toml`
//! or, failing that, a `user-data` file read by the rules of [`super::user_data`] (our
//! TOML or a `text/x-meet-agent` MIME part; cloud-init's content is left alone).

use super::common::{config_fragment, InstanceSource};
use super::user_data;
use crate::fsutil::CONFIG_LIMIT;
use crate::identity::InstanceData;
use crate::paths::Paths;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// Files read from the disk, first present wins.
const CONFIG_FILES: [&str; 2] = ["meet-agent.toml", "user-data"];

/// The disk device when one labelled `cidata` (vfat shows it upper-case) is attached.
pub fn find_device(paths: &Paths) -> Option<PathBuf> {
    ["cidata", "CIDATA"]
        .iter()
        .map(|label| paths.join(&format!("/dev/disk/by-label/{label}")))
        .find(|p| p.exists())
}

/// Where the config disk's files are read from.
pub enum Location {
    /// A folder that already holds the disk's files (a mounted disk, or a test fixture).
    Folder(PathBuf),
    /// A block device to mount read-only at `mount_point` for the read.
    Device {
        device: PathBuf,
        mount_point: PathBuf,
    },
}

/// A config disk reader.
pub struct ConfigDisk {
    location: Location,
}

impl ConfigDisk {
    /// Reads the files in `folder`.
    pub fn from_folder(folder: PathBuf) -> Self {
        Self {
            location: Location::Folder(folder),
        }
    }

    /// Mounts `device` read-only below the run folder for the read.
    pub fn from_device(paths: &Paths, device: PathBuf) -> Self {
        Self {
            location: Location::Device {
                device,
                mount_point: paths.join("/run/meet-agent/cidata"),
            },
        }
    }
}

fn read_folder(folder: &Path) -> Result<InstanceData> {
    let mut data = InstanceData {
        provider: "config-disk".into(),
        ..Default::default()
    };
    for name in CONFIG_FILES {
        let path = folder.join(name);
        if let Some(bytes) = crate::fsutil::read_regular_optional(&path, CONFIG_LIMIT)? {
            let origin = format!("config disk {name}");
            if name == "user-data" {
                let read = user_data::read(&origin, &bytes)?;
                data.config = read.config;
                data.user_data_note = read.left_alone;
            } else {
                data.config = Some(config_fragment(&origin, bytes)?);
            }
            break;
        }
    }
    if let Some(meta) =
        crate::fsutil::read_regular_optional(&folder.join("meta-data"), CONFIG_LIMIT)?
    {
        data.instance_id = String::from_utf8_lossy(&meta)
            .lines()
            .find_map(|l| l.strip_prefix("instance-id:").map(|v| v.trim().to_string()));
    }
    Ok(data)
}

fn mount_read_only(device: &Path, target: &Path) -> Result<()> {
    use nix::mount::{mount, MsFlags};
    std::fs::create_dir_all(target)
        .with_context(|| format!("failed to create {}", target.display()))?;
    let flags = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    let mut last = None;
    for fstype in ["vfat", "iso9660", "ext4"] {
        match mount(Some(device), target, Some(fstype), flags, None::<&str>) {
            Ok(()) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    bail!(
        "config disk {}: cannot mount it read-only as vfat, iso9660 or ext4 ({})",
        device.display(),
        last.map(|e| e.to_string()).unwrap_or_default()
    )
}

impl InstanceSource for ConfigDisk {
    fn name(&self) -> &'static str {
        "config-disk"
    }

    async fn fetch(&self) -> Result<InstanceData> {
        match &self.location {
            Location::Folder(folder) => read_folder(folder),
            Location::Device {
                device,
                mount_point,
            } => {
                mount_read_only(device, mount_point)?;
                let result = read_folder(mount_point);
                if let Err(e) = nix::mount::umount(mount_point.as_path()) {
                    tracing::warn!(
                        "config disk: failed to unmount {}: {e}",
                        mount_point.display()
                    );
                }
                result
            }
        }
    }
}
