//! QEMU fw_cfg: `-fw_cfg name=opt/meet-agent/config,file=...` appears (with the
//! `qemu_fw_cfg` kernel module loaded) as a file in sysfs.

use super::common::{config_fragment, InstanceSource};
use crate::identity::InstanceData;
use anyhow::{Context, Result};
use std::path::PathBuf;

/// Where the kernel exposes our fw_cfg entry.
pub const ENTRY: &str = "/sys/firmware/qemu_fw_cfg/by_name/opt/meet-agent/config/raw";

/// A reader of one fw_cfg entry file.
pub struct FwCfg {
    raw: PathBuf,
}

impl FwCfg {
    /// Reads the entry at `raw` (the sysfs `raw` file of the entry).
    pub fn new(raw: PathBuf) -> Self {
        Self { raw }
    }
}

impl InstanceSource for FwCfg {
    fn name(&self) -> &'static str {
        "fw-cfg"
    }

    async fn fetch(&self) -> Result<InstanceData> {
        let bytes = crate::fsutil::read_regular(&self.raw, crate::fsutil::CONFIG_LIMIT)
            .with_context(|| "QEMU fw_cfg: cannot read opt/meet-agent/config")?;
        let config = if bytes.is_empty() {
            None
        } else {
            Some(config_fragment("QEMU fw_cfg opt/meet-agent/config", bytes)?)
        };
        Ok(InstanceData {
            provider: self.name().into(),
            config,
            ..Default::default()
        })
    }
}
