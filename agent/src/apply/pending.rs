//! The durable record of services that must take new configuration.

use crate::fsutil;
use crate::paths::Paths;
use crate::vocab::Service;
use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Where the services still to be refreshed are recorded, below the root.
pub const PENDING_REFRESH: &str = "/var/lib/meet-agent/pending-refresh.json";

#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PendingFile {
    services: Vec<Service>,
    /// Unit files (the timers) written or removed whose daemon-reload and restart or stop
    /// has not happened yet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    units: Vec<String>,
}

/// The services pending a refresh: loaded from [`PENDING_REFRESH`] at the start of a run
/// (what a killed or failed run left), grown before each write that changes a service's
/// file, and shrunk only after systemd took the refresh.
#[derive(Debug)]
pub struct Refreshes {
    file: PathBuf,
    pending: BTreeSet<Service>,
    units: BTreeSet<String>,
}

impl Refreshes {
    /// The record below `paths`' root.
    pub fn load(paths: &Paths) -> Self {
        Self::at(paths.join(PENDING_REFRESH))
    }

    /// The record kept in `file`. A file that cannot be read or parsed counts as every
    /// service pending: one refresh too many is harmless, one lost is not.
    pub fn at(file: PathBuf) -> Self {
        let every = || PendingFile {
            services: Service::ALL.to_vec(),
            units: Vec::new(),
        };
        let record = match fsutil::read_regular_optional(&file, 64 * 1024) {
            Ok(None) => PendingFile::default(),
            Ok(Some(bytes)) => serde_json::from_slice::<PendingFile>(&bytes).unwrap_or_else(|e| {
                tracing::warn!(
                    "{} is not a list of services ({e}); refreshing every running service",
                    file.display()
                );
                every()
            }),
            Err(e) => {
                tracing::warn!("{e:#}; refreshing every running service");
                every()
            }
        };
        Self {
            file,
            pending: record.services.into_iter().collect(),
            units: record.units.into_iter().collect(),
        }
    }

    /// Whether `service` waits for a refresh.
    pub fn is_pending(&self, service: Service) -> bool {
        self.pending.contains(&service)
    }

    /// The services waiting for a refresh, in start order.
    pub fn pending(&self) -> Vec<Service> {
        Service::ALL
            .into_iter()
            .filter(|s| self.pending.contains(s))
            .collect()
    }

    /// Whether no service waits for a refresh (pending unit files aside).
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Records the unit file of `unit` as about to change (written or removed), durably,
    /// so that its daemon-reload and restart or stop survive a killed run.
    pub fn mark_unit_pending(&mut self, unit: &str) -> Result<()> {
        if self.units.insert(unit.to_string()) {
            self.save()?;
        }
        Ok(())
    }

    /// Whether the unit file of `unit` changed without systemd having taken it yet.
    pub fn unit_pending(&self, unit: &str) -> bool {
        self.units.contains(unit)
    }

    /// Writes the unit file `path` of `unit` atomically (0644), recording the unit first
    /// when that changes the file. Returns whether the file changed.
    pub fn write_unit(&mut self, path: &Path, contents: &[u8], unit: &str) -> Result<bool> {
        if fsutil::is_current(path, contents, 0o644) {
            return Ok(false);
        }
        self.mark_unit_pending(unit)?;
        fsutil::write_atomic(path, contents, 0o644)
    }

    /// Removes `units` from the record once systemd re-read them and (re)started or
    /// stopped them.
    pub fn units_done(&mut self, units: &[&str]) -> Result<()> {
        let before = self.units.len();
        for unit in units {
            self.units.remove(*unit);
        }
        if self.units.len() != before {
            self.save()?;
        }
        Ok(())
    }

    /// Records `services` as pending, durably, before the caller changes their files.
    /// Writes the record only when it grows.
    pub fn mark_pending(&mut self, services: &[Service]) -> Result<()> {
        let before = self.pending.len();
        self.pending.extend(services.iter().copied());
        if self.pending.len() != before {
            self.save()?;
        }
        Ok(())
    }

    /// As [`Refreshes::write`], for a file `user` alone reads
    /// ([`fsutil::write_atomic_for_user`]).
    pub fn write_for_user(
        &mut self,
        path: &Path,
        contents: &[u8],
        user: &str,
        service: Service,
    ) -> Result<bool> {
        if fsutil::is_current_for_user(path, contents, user) {
            return Ok(false);
        }
        self.mark_pending(&[service])?;
        fsutil::write_atomic_for_user(path, contents, user)
    }

    /// Writes `contents` to `path` atomically (mode `mode`; for `group` as
    /// [`fsutil::write_atomic_for_group`] when given) and, when that changes the file,
    /// records `service` as pending first. Returns whether the file changed.
    pub fn write(
        &mut self,
        path: &Path,
        contents: &[u8],
        mode: u32,
        group: Option<&str>,
        service: Service,
    ) -> Result<bool> {
        let current = match group {
            Some(group) => fsutil::is_current_for_group(path, contents, mode, group),
            None => fsutil::is_current(path, contents, mode),
        };
        if current {
            return Ok(false);
        }
        self.mark_pending(&[service])?;
        match group {
            Some(group) => fsutil::write_atomic_for_group(path, contents, mode, group),
            None => fsutil::write_atomic(path, contents, mode),
        }
    }

    /// Runs `change`, which says whether it changed the files of `services`, with those
    /// services recorded as pending while it runs: for writers that cannot tell in advance
    /// (the certificate pair). Unchanged, the record returns to what it was; failed, the
    /// services stay pending, as part of the change may have happened.
    pub fn around(
        &mut self,
        services: &[Service],
        change: impl FnOnce() -> Result<bool>,
    ) -> Result<bool> {
        let added: Vec<Service> = services
            .iter()
            .copied()
            .filter(|s| !self.pending.contains(s))
            .collect();
        self.mark_pending(&added)?;
        let changed = change()?;
        if !changed {
            self.done(&added)?;
        }
        Ok(changed)
    }

    /// Removes `services` from the record once systemd took their refresh (or they need
    /// none: not installed, or not running and so reading the files when they start).
    pub fn done(&mut self, services: &[Service]) -> Result<()> {
        let before = self.pending.len();
        for service in services {
            self.pending.remove(service);
        }
        if self.pending.len() != before {
            self.save()?;
        }
        Ok(())
    }

    fn save(&self) -> Result<()> {
        let record = PendingFile {
            services: self.pending(),
            units: self.units.iter().cloned().collect(),
        };
        let text = serde_json::to_vec_pretty(&record)?;
        fsutil::write_atomic(&self.file, &text, 0o600).with_context(|| {
            format!(
                "failed to record which services must take new configuration in {}",
                self.file.display()
            )
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(dir: &Path) -> PathBuf {
        dir.join("var/lib/meet-agent/pending-refresh.json")
    }

    #[test]
    fn a_change_is_recorded_before_the_file_is_written_and_survives_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("etc/prosody/conf.d/ryo-jitsi.cfg.lua");
        let mut refreshes = Refreshes::at(record(dir.path()));
        assert!(refreshes
            .write(&conf, b"one", 0o644, None, Service::Prosody)
            .unwrap());
        // The run is killed here, before any refresh: the next run still knows.
        drop(refreshes);
        let next = Refreshes::at(record(dir.path()));
        assert_eq!(next.pending(), [Service::Prosody]);
    }

    #[test]
    fn an_unchanged_file_records_nothing_and_writes_no_record() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("etc/nginx/site.conf");
        std::fs::create_dir_all(conf.parent().unwrap()).unwrap();
        std::fs::write(&conf, b"same").unwrap();
        std::fs::set_permissions(&conf, std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .unwrap();
        let mut refreshes = Refreshes::at(record(dir.path()));
        assert!(!refreshes
            .write(&conf, b"same", 0o644, None, Service::Nginx)
            .unwrap());
        assert!(refreshes.is_empty());
        assert!(!record(dir.path()).exists());
    }

    #[test]
    fn around_keeps_what_was_pending_and_drops_only_its_own_unchanged_additions() {
        let dir = tempfile::tempdir().unwrap();
        let mut refreshes = Refreshes::at(record(dir.path()));
        refreshes.mark_pending(&[Service::Prosody]).unwrap();
        let seen = std::cell::Cell::new(Vec::new());
        let changed = refreshes
            .around(&Service::TLS_CONSUMERS, || {
                // While the change runs, its services are on disk already.
                seen.set(Refreshes::at(record(dir.path())).pending());
                Ok(false)
            })
            .unwrap();
        assert!(!changed);
        assert_eq!(
            seen.take(),
            [Service::Prosody, Service::Coturn, Service::Nginx]
        );
        assert_eq!(refreshes.pending(), [Service::Prosody]);
        assert_eq!(
            Refreshes::at(record(dir.path())).pending(),
            [Service::Prosody]
        );
        assert!(refreshes.around(&[Service::Nginx], || Ok(true)).unwrap());
        assert!(refreshes
            .around(&[Service::Coturn], || anyhow::bail!("disk full"))
            .is_err());
        assert_eq!(
            Refreshes::at(record(dir.path())).pending(),
            [Service::Prosody, Service::Coturn, Service::Nginx]
        );
    }

    #[test]
    fn a_rewritten_timer_stays_recorded_until_systemd_took_it() {
        let dir = tempfile::tempdir().unwrap();
        let timer = dir.path().join("etc/systemd/system/meet-agent-idle.timer");
        let mut refreshes = Refreshes::at(record(dir.path()));
        assert!(refreshes
            .write_unit(&timer, b"[Timer]\n", "meet-agent-idle.timer")
            .unwrap());
        assert!(!refreshes
            .write_unit(&timer, b"[Timer]\n", "meet-agent-idle.timer")
            .unwrap());
        let mut next = Refreshes::at(record(dir.path()));
        assert!(next.unit_pending("meet-agent-idle.timer"));
        assert!(next.is_empty(), "no service pending");
        next.units_done(&["meet-agent-idle.timer"]).unwrap();
        assert!(!Refreshes::at(record(dir.path())).unit_pending("meet-agent-idle.timer"));
    }

    #[test]
    fn done_clears_durably_and_a_garbled_record_means_every_service() {
        let dir = tempfile::tempdir().unwrap();
        let mut refreshes = Refreshes::at(record(dir.path()));
        refreshes
            .mark_pending(&[Service::Nginx, Service::Jicofo])
            .unwrap();
        refreshes.done(&[Service::Jicofo]).unwrap();
        assert_eq!(
            Refreshes::at(record(dir.path())).pending(),
            [Service::Nginx]
        );
        std::fs::write(record(dir.path()), b"{\"services\":[\"ssh.service\"]}").unwrap();
        assert_eq!(Refreshes::at(record(dir.path())).pending(), Service::ALL);
    }
}
