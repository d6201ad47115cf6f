//! The effective configuration of this instance: the local drop-in folders, then what the
//! instance source carries, merged and validated.

use crate::config::{self, Config, Local, Settings};
use crate::paths::Paths;
use crate::source::{self, InstanceData, SourceOptions};
use anyhow::{anyhow, Result};
use std::time::Duration;

/// Configuration and instance data, ready for the steps.
pub struct Effective {
    /// The merged configuration (for `config show`).
    pub config: Config,
    /// The validated settings.
    pub settings: Settings,
    /// What the instance source reported.
    pub instance: InstanceData,
}

/// Where loading stopped, so `run` can record it against the right thing.
pub enum LoadError {
    /// A drop-in file or the merged result is invalid.
    Config(anyhow::Error),
    /// The instance source is present but broken.
    Source(anyhow::Error),
}

impl LoadError {
    /// The underlying error.
    pub fn error(&self) -> &anyhow::Error {
        match self {
            LoadError::Config(e) | LoadError::Source(e) => e,
        }
    }
}

/// Asks the instance source the drop-ins choose, merges its configuration over them,
/// resolves `ssm:` values and validates: the one full load of a command.
pub async fn load(paths: &Paths, local: &Local) -> Result<Effective, LoadError> {
    let mut merged = local.merged().map_err(LoadError::Config)?.clone();
    let source = local.source().map_err(LoadError::Config)?;
    let opts = SourceOptions {
        ec2_endpoint: source.ec2_endpoint.clone(),
        gce_endpoint: source.gce_endpoint.clone(),
        aws_endpoint: source.aws_endpoint.clone(),
        timeout: Duration::from_secs(source.timeout_seconds.clamp(1, 3600)),
    };
    let provider = source::detect(paths, source.provider, &opts).map_err(LoadError::Source)?;
    let instance = provider.fetch().await.map_err(LoadError::Source)?;
    if let Some(fragment) = &instance.config {
        merged.add(fragment).map_err(LoadError::Config)?;
    }
    // Where AWS is asked comes from local configuration, like the source itself: the
    // instance's own data cannot redirect signed requests.
    source::ssm::resolve(&mut merged, &opts, instance.region.as_deref())
        .await
        .map_err(LoadError::Config)?;
    let (config, settings) = config::finish(&merged).map_err(LoadError::Config)?;
    Ok(Effective {
        config,
        settings,
        instance,
    })
}

/// This instance's id: the instance source's, else systemd's machine-id, made here first
/// when the image left it empty (as systemd does at a first boot), so that the id is never
/// derived from an empty machine-id: an image shipped with an empty one would otherwise
/// count the boot after the one that filled it in as a new instance, and make new secrets.
///
/// On a booted system systemd has put the machine-id in place before any service starts,
/// and this only reads it; the id made here is for containers and chroots where nothing
/// does.
pub fn instance_id(paths: &Paths, from_source: Option<&str>) -> Result<String> {
    if let Some(id) = from_source.map(str::trim).filter(|id| !id.is_empty()) {
        return Ok(id.to_string());
    }
    machine_id(&paths.machine_id()).map(|(id, _)| id)
}

/// The machine-id at `path` (`/etc/machine-id`), read and checked in this one place: a
/// missing, empty or `uninitialized` one is replaced by a fresh random id (as systemd does
/// at a first boot), written atomically. Returns the id and whether it was made now.
pub fn machine_id(path: &std::path::Path) -> Result<(String, bool)> {
    let current = match std::fs::read_to_string(path) {
        Ok(text) => text.trim().to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(anyhow!(
                "failed to read {}: {e}; the instance id comes from it when the instance source has none",
                path.display()
            ))
        }
    };
    if !current.is_empty() && current != "uninitialized" {
        return Ok((current, false));
    }
    let id = crate::encoding::hex(&crate::jitsi::secrets::random_bytes::<16>()?);
    crate::fsutil::write_atomic(path, format!("{id}\n").as_bytes(), 0o444).map_err(|e| {
        anyhow!(
            "{} is empty and a machine-id could not be written there ({e:#}); run `systemd-machine-id-setup` and `meet-agent run` again",
            path.display()
        )
    })?;
    Ok((id, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_instance_id_is_the_sources_else_a_non_empty_machine_id() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path());
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        assert_eq!(instance_id(&paths, Some("i-0abc")).unwrap(), "i-0abc");
        std::fs::write(paths.machine_id(), "0123456789abcdef0123456789abcdef\n").unwrap();
        assert_eq!(
            instance_id(&paths, None).unwrap(),
            "0123456789abcdef0123456789abcdef"
        );
        for empty in ["", "\n", "uninitialized\n"] {
            std::fs::remove_file(paths.machine_id()).unwrap();
            std::fs::write(paths.machine_id(), empty).unwrap();
            let made = instance_id(&paths, Some("  ")).unwrap();
            assert_eq!(made.len(), 32, "{made}");
            // The id is the machine-id now in place, so the next boot finds the same.
            assert_eq!(instance_id(&paths, None).unwrap(), made);
        }
    }
}
