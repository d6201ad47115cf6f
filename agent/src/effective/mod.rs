//! The effective configuration of this boot: what `run` loaded (settings, instance data,
//! identity and instance id), persisted with every secret redacted to
//! `/run/meet-agent/effective.json` so that `shutdown`, `idle-check` (every minute) and
//! `user` act on the same values without asking the instance source again.
//!
//! None of those commands needs a secret: they use the domain, the auth mode, the schedule
//! and the maintenance window. The file therefore holds no secret at all, and /run (a
//! tmpfs) starts empty at every boot, so a missing file means "no successful run yet this
//! boot"; the commands then load everything themselves and say so.

pub mod host;

use crate::config::schema::{AuthMode, Schedule, Updates};
use crate::config::{Config, Settings};
use crate::fsutil::{read_optional, write_atomic};
use crate::paths::Paths;
use crate::source::InstanceData;
use crate::state::Identity;
use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};

pub use host::HostFacts;

/// Version of the file's shape.
pub const VERSION: u32 = 1;

/// What the operations commands act on, typed as validation produced it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpsSettings {
    /// `server.domain`, validated.
    pub domain: Option<String>,
    /// `jitsi.auth`.
    pub auth: AuthMode,
    /// `[schedule]`: postponement, idle shutdown and the statistics endpoints.
    pub schedule: Schedule,
    /// `[updates]`: the maintenance window a reboot stays inside.
    pub updates: Updates,
}

impl OpsSettings {
    /// The part of `settings` the operations commands use.
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            domain: settings.domain.clone(),
            auth: settings.jitsi.auth,
            schedule: settings.schedule.clone(),
            updates: settings.updates.clone(),
        }
    }
}

/// The persisted effective configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saved {
    /// Shape version ([`VERSION`]).
    pub version: u32,
    /// The boot it was written in; another boot's file is not used.
    pub boot_id: String,
    /// When it was written (RFC 3339, UTC).
    pub written_at: String,
    /// The values the operations commands act on.
    pub operations: OpsSettings,
    /// The whole merged configuration as `config show` prints it, secrets redacted.
    pub config: serde_json::Value,
    /// What the instance source reported (its configuration text left out).
    pub instance: InstanceData,
    /// Domain, addresses and size as the run settled them.
    pub identity: Identity,
    /// This instance's id.
    pub instance_id: Option<String>,
}

impl Saved {
    /// The record of one successful load.
    pub fn new(
        paths: &Paths,
        config: &Config,
        settings: &Settings,
        identity: &Identity,
        instance_id: Option<String>,
    ) -> Result<Self> {
        let facts = host::facts(paths)?;
        Ok(Self {
            version: VERSION,
            boot_id: facts.boot_id(),
            written_at: crate::state::rfc3339(facts.now()),
            operations: OpsSettings::from_settings(settings),
            // Secret and SecretMaterial serialize as redacted, as for `config show`.
            config: serde_json::to_value(config)
                .context("failed to record the effective configuration")?,
            instance: identity.instance.clone(),
            identity: identity.clone(),
            instance_id,
        })
    }

    /// Writes the file atomically, readable by root alone (0600): it holds no secret, but
    /// the configuration (contact address, provider URLs) is not every local user's.
    pub fn save(&self, paths: &Paths) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        write_atomic(&paths.effective_file(), text.as_bytes(), 0o600)?;
        Ok(())
    }
}

/// Removes the file, so that after a failed load the commands load (and report) for
/// themselves rather than act on values the operator has since changed.
pub fn forget(paths: &Paths) -> Result<()> {
    let path = paths.effective_file();
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| {
            format!(
                "failed to remove {}; remove it by hand so that stale settings are not used",
                path.display()
            )
        }),
    }
}

/// The saved file of this boot, `None` when there is none (or it is another boot's).
pub fn load(paths: &Paths) -> Result<Option<Saved>> {
    let path = paths.effective_file();
    let Some(bytes) = read_optional(&path)? else {
        return Ok(None);
    };
    let saved: Saved = serde_json::from_slice(&bytes).map_err(|e| {
        anyhow!(
            "{} is not a meet-agent effective configuration ({e}); remove it and run `meet-agent run`",
            path.display()
        )
    })?;
    if saved.version != VERSION || saved.boot_id != host::facts(paths)?.boot_id() {
        return Ok(None);
    }
    Ok(Some(saved))
}

/// The operations settings: from this boot's saved file, else (saying so on stderr) from a
/// full load of the configuration and the instance source.
pub async fn ops_settings(paths: &Paths) -> Result<OpsSettings> {
    match load(paths) {
        Ok(Some(saved)) => return Ok(saved.operations),
        Ok(None) => eprintln!(
            "meet-agent: {} is missing (no successful `meet-agent run` this boot); reading the configuration and instance data instead",
            paths.effective_file().display()
        ),
        Err(e) => eprintln!("meet-agent: {e:#}; reading the configuration and instance data instead"),
    }
    let effective = crate::instance::load(paths)
        .await
        .map_err(|e| anyhow!("{:#}", e.error()))?;
    Ok(OpsSettings::from_settings(&effective.settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_settings_survive_the_round_trip() {
        let ops = OpsSettings {
            domain: Some("meet.example.org".into()),
            auth: AuthMode::SecureDomain,
            schedule: Schedule {
                idle_shutdown_minutes: 30,
                ..Default::default()
            },
            updates: Updates::default(),
        };
        let text = serde_json::to_string(&ops).unwrap();
        let back: OpsSettings = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
        assert_eq!(back.schedule.idle_shutdown_minutes, 30);
    }
}
