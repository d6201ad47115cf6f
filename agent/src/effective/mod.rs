//! The effective configuration of this boot: what `run` loaded (settings, instance data,
//! identity and instance id), persisted with every secret redacted to
//! `/run/meet-agent/effective.json` so that `shutdown`, `idle-check` (every minute) and
//! `user` act on the same values without asking the instance source again.
//!
//! None of those commands needs a secret: they use the domain, the auth mode, the schedule
//! and the maintenance window. The file therefore holds no secret at all, and /run (a
//! tmpfs) starts empty at every boot, so a missing file means "no successful run yet this
//! boot"; the commands then load everything themselves and say so.

use crate::config::schema::{AuthMode, Schedule, Updates};
use crate::config::{Config, Settings};
use crate::fsutil::{read_optional, write_atomic};
use crate::paths::Paths;
use crate::state::Identity;
use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};

use crate::host::HostFacts;

/// Version of the file's shape.
pub const VERSION: u32 = 2;

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
    /// `server.role` (status shows a deployment's bridges or signaling node by it).
    #[serde(default)]
    pub role: crate::vocab::Role,
}

impl OpsSettings {
    /// The part of `settings` the operations commands use.
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            domain: settings.domain.clone(),
            auth: settings.jitsi.auth,
            schedule: settings.schedule.clone(),
            updates: settings.updates.clone(),
            role: settings.roles.role,
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
    /// The values the operations commands act on.
    pub operations: OpsSettings,
    /// The whole merged configuration as `config show` prints it, secrets redacted.
    pub config: serde_json::Value,
    /// Domain, addresses and size as the run settled them, with what the instance source
    /// reported (its configuration text left out).
    pub identity: Identity,
    /// This instance's id.
    pub instance_id: Option<String>,
    /// Digest of the drop-in files the configuration was loaded from: an operator's edit
    /// since the run is noticed, and the commands load afresh rather than act on old values.
    pub drop_ins: String,
}

impl Saved {
    /// The record of one successful load, in this boot (`boot_id`), of the drop-ins whose
    /// digest is `drop_ins`: the settings the operations commands use and the whole
    /// configuration. Owned arguments, so that it can be made behind the run
    /// (`write_behind`).
    pub fn new(
        boot_id: String,
        drop_ins: String,
        config: &Config,
        operations: OpsSettings,
        identity: Identity,
        instance_id: Option<String>,
    ) -> Result<Self> {
        Ok(Self {
            version: VERSION,
            boot_id,
            operations,
            // Secret and SecretMaterial serialize as redacted, as for `config show`.
            config: serde_json::to_value(config)
                .context("failed to record the effective configuration")?,
            identity,
            instance_id,
            drop_ins,
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

/// What [`load`] found.
#[derive(Debug)]
pub enum Found {
    /// This boot's file, loaded from the drop-ins as they are now.
    Current(Box<Saved>),
    /// No file: no successful run this boot.
    Missing,
    /// Another boot's file, or another shape's.
    Stale,
    /// The drop-in files changed since the run wrote it.
    Changed,
}

impl Found {
    /// Why there is nothing to use, for the one line on stderr.
    fn reason(&self, paths: &Paths) -> String {
        let file = paths.effective_file();
        match self {
            Found::Current(_) => String::new(),
            Found::Missing => format!(
                "{} is missing (no successful `meet-agent run` this boot)",
                file.display()
            ),
            Found::Stale => format!("{} is from another boot or version", file.display()),
            Found::Changed => format!(
                "the drop-in configuration changed since {} was written",
                file.display()
            ),
        }
    }
}

/// This boot's saved file, if it is there and still describes the drop-ins.
pub fn load(paths: &Paths, facts: &dyn HostFacts, drop_ins: &str) -> Result<Found> {
    let path = paths.effective_file();
    let Some(bytes) = read_optional(&path)? else {
        return Ok(Found::Missing);
    };
    let saved: Saved = serde_json::from_slice(&bytes).map_err(|e| {
        anyhow!(
            "{} is not a meet-agent effective configuration ({e}); remove it and run `meet-agent run`",
            path.display()
        )
    })?;
    if saved.version != VERSION || saved.boot_id != facts.boot_id() {
        return Ok(Found::Stale);
    }
    if saved.drop_ins != drop_ins {
        return Ok(Found::Changed);
    }
    Ok(Found::Current(Box::new(saved)))
}

/// The operations settings: from this boot's saved file, else (saying so on stderr) from a
/// full load of the configuration and the instance source.
pub async fn ops_settings(
    paths: &Paths,
    facts: &dyn HostFacts,
    local: &crate::config::Local,
) -> Result<OpsSettings> {
    match load(paths, facts, &local.digest) {
        Ok(Found::Current(saved)) => return Ok(saved.operations),
        Ok(other) => eprintln!(
            "meet-agent: {}; reading the configuration and instance data instead",
            other.reason(paths)
        ),
        Err(e) => {
            eprintln!("meet-agent: {e:#}; reading the configuration and instance data instead")
        }
    }
    let effective = crate::instance::load(paths, local)
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
            role: crate::vocab::Role::Videobridge,
        };
        let text = serde_json::to_string(&ops).unwrap();
        let back: OpsSettings = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
        assert_eq!(back.schedule.idle_shutdown_minutes, 30);
    }
}
