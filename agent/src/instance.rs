//! The effective configuration of this instance: the local drop-in folders, then what the
//! instance source carries, merged and validated.

use crate::config::{self, Config, Merged, Settings};
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

/// Reads the drop-ins, asks the instance source, merges its config, validates.
pub async fn load(paths: &Paths) -> Result<Effective, LoadError> {
    let mut merged = config::load_local(paths).map_err(LoadError::Config)?;
    let (choice, opts) = source_options(&merged).map_err(LoadError::Config)?;
    let provider = source::detect(paths, choice, &opts).map_err(LoadError::Source)?;
    let instance = provider.fetch().await.map_err(LoadError::Source)?;
    if let Some(fragment) = &instance.config {
        merged.add(fragment).map_err(LoadError::Config)?;
    }
    let (config, settings) = config::finish(&merged).map_err(LoadError::Config)?;
    Ok(Effective {
        config,
        settings,
        instance,
    })
}

/// The source choice from local configuration alone (instance data cannot choose its own
/// source).
fn source_options(merged: &Merged) -> Result<(config::ProviderChoice, SourceOptions)> {
    let config: Config = toml::Value::Table(merged.table.clone())
        .try_into()
        .map_err(|e| anyhow!("local configuration does not match the schema: {e}"))?;
    for (key, endpoint) in [
        ("source.ec2_endpoint", &config.source.ec2_endpoint),
        ("source.gce_endpoint", &config.source.gce_endpoint),
    ] {
        config::check_url(endpoint)
            .map_err(|reason| anyhow!("{}: key `{key}`: {reason}", merged.origin_of(key)))?;
    }
    Ok((
        config.source.provider,
        SourceOptions {
            ec2_endpoint: config.source.ec2_endpoint.clone(),
            gce_endpoint: config.source.gce_endpoint.clone(),
            timeout: Duration::from_secs(config.source.timeout_seconds.clamp(1, 3600)),
        },
    ))
}
