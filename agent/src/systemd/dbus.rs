//! systemd's Manager and Unit interfaces over the system bus.
//!
//! The bus address comes from `DBUS_SYSTEM_BUS_ADDRESS` when set (tests point it at a
//! private bus), else the standard system bus socket.

use crate::vocab::Service;
use anyhow::{anyhow, Context, Result};
use serde::Serialize;
use std::time::Duration;
use zbus::proxy::CacheProperties;
use zbus::zvariant::OwnedObjectPath;

/// The stack's units, in the order they start (see [`Service::ALL`]).
pub const STACK_UNITS: [&str; 8] = [
    Service::ALL[0].unit(),
    Service::ALL[1].unit(),
    Service::ALL[2].unit(),
    Service::ALL[3].unit(),
    Service::ALL[4].unit(),
    Service::ALL[5].unit(),
    Service::ALL[6].unit(),
    Service::ALL[7].unit(),
];

/// The units that read the web certificate (see [`Service::TLS_CONSUMERS`]).
pub const TLS_CONSUMERS: [&str; 3] = [
    Service::TLS_CONSUMERS[0].unit(),
    Service::TLS_CONSUMERS[1].unit(),
    Service::TLS_CONSUMERS[2].unit(),
];

const CALL_TIMEOUT: Duration = Duration::from_secs(5);
const RELOAD_TIMEOUT: Duration = Duration::from_secs(90);

#[zbus::proxy(
    interface = "org.freedesktop.systemd1.Manager",
    default_service = "org.freedesktop.systemd1",
    default_path = "/org/freedesktop/systemd1"
)]
trait Manager {
    fn load_unit(&self, name: &str) -> zbus::Result<OwnedObjectPath>;
    fn start_unit(&self, name: &str, mode: &str) -> zbus::Result<OwnedObjectPath>;
    fn reload_unit(&self, name: &str, mode: &str) -> zbus::Result<OwnedObjectPath>;
    fn restart_unit(&self, name: &str, mode: &str) -> zbus::Result<OwnedObjectPath>;
    fn stop_unit(&self, name: &str, mode: &str) -> zbus::Result<OwnedObjectPath>;
    fn reload(&self) -> zbus::Result<()>;
    fn get_unit_file_state(&self, name: &str) -> zbus::Result<String>;
    fn disable_unit_files(
        &self,
        files: &[&str],
        runtime: bool,
    ) -> zbus::Result<Vec<(String, String, String)>>;
}

#[zbus::proxy(
    interface = "org.freedesktop.systemd1.Unit",
    default_service = "org.freedesktop.systemd1"
)]
trait Unit {
    #[zbus(property)]
    fn load_state(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn active_state(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn sub_state(&self) -> zbus::Result<String>;
    /// The job queued or running for the unit: id 0 when there is none.
    #[zbus(property)]
    fn job(&self) -> zbus::Result<(u32, OwnedObjectPath)>;
}

/// One unit's state as systemd reports it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UnitStatus {
    /// Unit name.
    pub name: String,
    /// `loaded`, `not-found`, ...
    pub load_state: String,
    /// `active`, `inactive`, `failed`, `activating`, ...
    pub active_state: String,
    /// `running`, `exited`, `dead`, ...
    pub sub_state: String,
}

impl UnitStatus {
    /// Whether the unit file exists (the package is installed).
    pub fn installed(&self) -> bool {
        self.load_state != "not-found"
    }
}

/// A connection to systemd on the system bus.
pub struct Systemd {
    conn: zbus::Connection,
}

async fn timed<T>(
    what: &str,
    fut: impl std::future::Future<Output = zbus::Result<T>>,
) -> Result<T> {
    timed_for(CALL_TIMEOUT, what, fut).await
}

async fn timed_for<T>(
    limit: Duration,
    what: &str,
    fut: impl std::future::Future<Output = zbus::Result<T>>,
) -> Result<T> {
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| anyhow!("systemd did not answer {what} within {limit:?}"))?
        .with_context(|| format!("systemd refused {what}"))
}

/// A connection to the system bus (or `DBUS_SYSTEM_BUS_ADDRESS`), bounded in time.
pub async fn system_bus() -> Result<zbus::Connection> {
    tokio::time::timeout(CALL_TIMEOUT, zbus::Connection::system())
        .await
        .map_err(|_| anyhow!("the system D-Bus did not answer within {CALL_TIMEOUT:?}"))?
        .map_err(|e| anyhow!("no system D-Bus ({e})"))
}

impl Systemd {
    /// Connects to the system bus (or `DBUS_SYSTEM_BUS_ADDRESS`).
    pub async fn connect() -> Result<Self> {
        Ok(Self {
            conn: system_bus().await?,
        })
    }

    async fn manager(&self) -> Result<ManagerProxy<'_>> {
        Ok(ManagerProxy::builder(&self.conn)
            .cache_properties(CacheProperties::No)
            .build()
            .await?)
    }

    /// The unit object of `name`, loaded if systemd has not yet (a missing unit loads as
    /// `not-found`).
    async fn unit(&self, name: &str) -> Result<UnitProxy<'_>> {
        let manager = self.manager().await?;
        let path = timed(&format!("LoadUnit({name})"), manager.load_unit(name)).await?;
        Ok(UnitProxy::builder(&self.conn)
            .path(path)?
            .cache_properties(CacheProperties::No)
            .build()
            .await?)
    }

    /// The state of `name` (loading it if systemd has not yet, so that a missing unit
    /// shows as `not-found` rather than an error).
    pub async fn unit_status(&self, name: &str) -> Result<UnitStatus> {
        let unit = self.unit(name).await?;
        // The three properties asked together (one round trip's wait, not three).
        let (load_state, active_state, sub_state) = tokio::try_join!(
            timed("LoadState", unit.load_state()),
            timed("ActiveState", unit.active_state()),
            timed("SubState", unit.sub_state()),
        )?;
        Ok(UnitStatus {
            name: name.to_string(),
            load_state,
            active_state,
            sub_state,
        })
    }

    /// Waits, up to `limit`, until systemd has no job left for `name` (the start or reload
    /// just queued has finished), then returns the unit's state. Only for a unit this run
    /// is not ordered before (it would wait for our own READY).
    pub async fn settled(&self, name: &str, limit: Duration) -> Result<UnitStatus> {
        let deadline = tokio::time::Instant::now() + limit;
        let unit = self.unit(name).await?;
        loop {
            let (job, _) = timed("Job", unit.job()).await?;
            if job == 0 {
                return self.unit_status(name).await;
            }
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!("systemd's job {job} for {name} did not finish within {limit:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Queues a start of `name` (does not wait for it: we may be ordered before it).
    pub async fn start(&self, name: &str) -> Result<()> {
        let manager = self.manager().await?;
        timed(
            &format!("StartUnit({name})"),
            manager.start_unit(name, "replace"),
        )
        .await?;
        Ok(())
    }

    /// Queues a reload of `name`, so running conferences survive a certificate change.
    pub async fn reload(&self, name: &str) -> Result<()> {
        let manager = self.manager().await?;
        timed(
            &format!("ReloadUnit({name})"),
            manager.reload_unit(name, "replace"),
        )
        .await?;
        Ok(())
    }

    /// Queues a restart of `name`, for services that read their configuration only at
    /// start (jicofo, the videobridge).
    pub async fn restart(&self, name: &str) -> Result<()> {
        let manager = self.manager().await?;
        timed(
            &format!("RestartUnit({name})"),
            manager.restart_unit(name, "replace"),
        )
        .await?;
        Ok(())
    }

    /// Queues a stop of `name`.
    pub async fn stop(&self, name: &str) -> Result<()> {
        let manager = self.manager().await?;
        timed(
            &format!("StopUnit({name})"),
            manager.stop_unit(name, "replace"),
        )
        .await?;
        Ok(())
    }

    /// The unit file's enablement as systemd reports it: `enabled`, `disabled`, `static`,
    /// `masked`, `enabled-runtime`, ...
    pub async fn unit_file_state(&self, name: &str) -> Result<String> {
        let manager = self.manager().await?;
        timed(
            &format!("GetUnitFileState({name})"),
            manager.get_unit_file_state(name),
        )
        .await
    }

    /// Disables `name` persistently, as `systemctl disable` does.
    pub async fn disable(&self, name: &str) -> Result<()> {
        let manager = self.manager().await?;
        timed(
            &format!("DisableUnitFiles({name})"),
            manager.disable_unit_files(&[name], false),
        )
        .await?;
        Ok(())
    }

    /// Makes systemd re-read unit files and drop-ins (`systemctl daemon-reload`).
    pub async fn daemon_reload(&self) -> Result<()> {
        let manager = self.manager().await?;
        // A daemon-reload re-runs the generators and re-reads every unit before it answers:
        // seconds on a busy or emulated machine, far more than a unit query.
        timed_for(RELOAD_TIMEOUT, "Reload", manager.reload()).await
    }
}
