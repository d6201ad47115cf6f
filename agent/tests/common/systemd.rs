//! A stand-in for systemd's Manager and Unit interfaces on a private bus (see `bus.rs`):
//! the methods meet-agent calls, recorded in order, with each unit's state and unit-file
//! state kept in a map the test can read and change. systemd itself cannot run as PID 1 on
//! the development machines; the boot tests use the real one.

// Each test binary uses a different part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use zbus::zvariant::OwnedObjectPath;

/// One unit as the stand-in reports it.
#[derive(Clone, Debug)]
pub struct UnitState {
    /// `loaded` or `not-found`.
    pub load: String,
    /// `active`, `inactive`, `failed`, ...
    pub active: String,
    /// `running`, `dead`, ...
    pub sub: String,
    /// The unit file's state: `enabled`, `disabled`, `static`, ...
    pub file: String,
    /// Whether a start ends in `failed` (as a oneshot whose command fails).
    pub fails_to_start: bool,
}

impl UnitState {
    /// An installed unit in `active` (`active` or `inactive`) with its file in `file`.
    pub fn installed(active: &str, file: &str) -> Self {
        Self {
            load: "loaded".into(),
            active: active.into(),
            sub: if active == "active" {
                "running"
            } else {
                "dead"
            }
            .into(),
            file: file.into(),
            fails_to_start: false,
        }
    }

    /// A unit whose package is not installed.
    pub fn missing() -> Self {
        Self {
            load: "not-found".into(),
            active: "inactive".into(),
            sub: "dead".into(),
            file: "not-found".into(),
            fails_to_start: false,
        }
    }
}

/// The units by name.
pub type Units = Arc<Mutex<BTreeMap<String, UnitState>>>;
/// The calls, in order: `StartUnit nginx.service replace`, `DisableUnitFiles prosody.service`.
pub type Calls = Arc<Mutex<Vec<String>>>;
/// The unique bus name of each call's sender, in the same order as [`Calls`].
pub type Senders = Arc<Mutex<Vec<String>>>;

type Header<'a> = zbus::message::Header<'a>;

/// systemd's object path for a unit: every byte outside [A-Za-z0-9] escaped as _XX.
pub fn object_path(unit: &str) -> String {
    let escaped: String = unit
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("_{b:02x}")
            }
        })
        .collect();
    format!("/org/freedesktop/systemd1/unit/{escaped}")
}

fn job() -> OwnedObjectPath {
    OwnedObjectPath::try_from("/org/freedesktop/systemd1/job/1").unwrap()
}

struct Manager {
    units: Units,
    calls: Calls,
    senders: Senders,
    hang: bool,
}

impl Manager {
    fn record(&self, header: &Header<'_>, call: String) {
        let sender = header.sender().map(|s| s.to_string()).unwrap_or_default();
        self.calls.lock().unwrap().push(call);
        self.senders.lock().unwrap().push(sender);
    }

    fn set(&self, name: &str, change: impl FnOnce(&mut UnitState)) {
        if let Some(u) = self.units.lock().unwrap().get_mut(name) {
            change(u);
        }
    }
}

#[zbus::interface(name = "org.freedesktop.systemd1.Manager")]
impl Manager {
    async fn load_unit(
        &self,
        name: &str,
        #[zbus(header)] header: Header<'_>,
    ) -> zbus::fdo::Result<OwnedObjectPath> {
        self.record(&header, format!("LoadUnit {name}"));
        if self.hang {
            std::future::pending::<()>().await;
        }
        OwnedObjectPath::try_from(object_path(name))
            .map_err(|e| zbus::fdo::Error::Failed(e.to_string()))
    }
    fn start_unit(
        &self,
        name: &str,
        mode: &str,
        #[zbus(header)] header: Header<'_>,
    ) -> OwnedObjectPath {
        self.record(&header, format!("StartUnit {name} {mode}"));
        self.set(name, |u| {
            (u.active, u.sub) = if u.fails_to_start {
                ("failed".into(), "failed".into())
            } else {
                ("active".into(), "running".into())
            };
        });
        job()
    }
    fn stop_unit(
        &self,
        name: &str,
        mode: &str,
        #[zbus(header)] header: Header<'_>,
    ) -> OwnedObjectPath {
        self.record(&header, format!("StopUnit {name} {mode}"));
        self.set(name, |u| {
            u.active = "inactive".into();
            u.sub = "dead".into();
        });
        job()
    }
    fn reload_unit(
        &self,
        name: &str,
        mode: &str,
        #[zbus(header)] header: Header<'_>,
    ) -> OwnedObjectPath {
        self.record(&header, format!("ReloadUnit {name} {mode}"));
        job()
    }
    fn restart_unit(
        &self,
        name: &str,
        mode: &str,
        #[zbus(header)] header: Header<'_>,
    ) -> OwnedObjectPath {
        self.record(&header, format!("RestartUnit {name} {mode}"));
        job()
    }
    fn reload(&self, #[zbus(header)] header: Header<'_>) {
        self.record(&header, "Reload".into());
    }
    fn get_unit_file_state(
        &self,
        name: &str,
        #[zbus(header)] header: Header<'_>,
    ) -> zbus::fdo::Result<String> {
        self.record(&header, format!("GetUnitFileState {name}"));
        match self.units.lock().unwrap().get(name) {
            Some(u) if u.load != "not-found" => Ok(u.file.clone()),
            // What systemd answers for a unit file it does not have.
            _ => Err(zbus::fdo::Error::FileNotFound(format!(
                "No such file or directory: {name}"
            ))),
        }
    }
    fn enable_unit_files(
        &self,
        files: Vec<String>,
        runtime: bool,
        force: bool,
        #[zbus(header)] header: Header<'_>,
    ) -> (bool, Vec<(String, String, String)>) {
        self.record(
            &header,
            format!(
                "EnableUnitFiles {} runtime={runtime} force={force}",
                files.join(",")
            ),
        );
        for f in &files {
            self.set(f, |u| u.file = "enabled".into());
        }
        let changes = files
            .iter()
            .map(|f| {
                (
                    "symlink".to_string(),
                    format!("/etc/systemd/system/multi-user.target.wants/{f}"),
                    format!("/usr/lib/systemd/system/{f}"),
                )
            })
            .collect();
        (true, changes)
    }
    fn disable_unit_files(
        &self,
        files: Vec<String>,
        runtime: bool,
        #[zbus(header)] header: Header<'_>,
    ) -> Vec<(String, String, String)> {
        self.record(
            &header,
            format!("DisableUnitFiles {} runtime={runtime}", files.join(",")),
        );
        for f in &files {
            self.set(f, |u| u.file = "disabled".into());
        }
        files
            .iter()
            .map(|f| {
                (
                    "unlink".to_string(),
                    format!("/etc/systemd/system/multi-user.target.wants/{f}"),
                    String::new(),
                )
            })
            .collect()
    }
}

struct Unit {
    name: String,
    units: Units,
}

#[zbus::interface(name = "org.freedesktop.systemd1.Unit")]
impl Unit {
    #[zbus(property)]
    fn load_state(&self) -> String {
        self.units.lock().unwrap()[&self.name].load.clone()
    }
    #[zbus(property)]
    fn active_state(&self) -> String {
        self.units.lock().unwrap()[&self.name].active.clone()
    }
    #[zbus(property)]
    fn sub_state(&self) -> String {
        self.units.lock().unwrap()[&self.name].sub.clone()
    }
    /// No job: the stand-in carries out each job as it is asked.
    #[zbus(property)]
    fn job(&self) -> (u32, OwnedObjectPath) {
        (0, OwnedObjectPath::try_from("/").unwrap())
    }
}

/// The stand-in, serving while it lives.
pub struct Systemd {
    _conn: zbus::Connection,
    /// The units' states, as the test set them and the agent changed them.
    pub units: Units,
    /// The calls made.
    pub calls: Calls,
    /// Who made them.
    pub senders: Senders,
}

impl Systemd {
    /// Serves `org.freedesktop.systemd1` on the bus at `address` with `units`.
    pub async fn serve(address: &str, units: BTreeMap<String, UnitState>) -> Self {
        Self::serve_hanging(address, units, false).await
    }

    /// As [`Systemd::serve`]; with `hang`, LoadUnit is recorded and never answered, which
    /// catches the agent between writing its files and refreshing their services.
    pub async fn serve_hanging(
        address: &str,
        units: BTreeMap<String, UnitState>,
        hang: bool,
    ) -> Self {
        let names: Vec<String> = units.keys().cloned().collect();
        let units: Units = Arc::new(Mutex::new(units));
        let calls = Calls::default();
        let senders = Senders::default();
        let mut builder = zbus::connection::Builder::address(address)
            .unwrap()
            .name("org.freedesktop.systemd1")
            .unwrap()
            .serve_at(
                "/org/freedesktop/systemd1",
                Manager {
                    units: units.clone(),
                    calls: calls.clone(),
                    senders: senders.clone(),
                    hang,
                },
            )
            .unwrap();
        for name in names {
            builder = builder
                .serve_at(
                    object_path(&name),
                    Unit {
                        name,
                        units: units.clone(),
                    },
                )
                .unwrap();
        }
        Self {
            _conn: builder.build().await.unwrap(),
            units,
            calls,
            senders,
        }
    }

    /// Forgets the calls so far (and their senders).
    pub fn clear(&self) {
        self.calls.lock().unwrap().clear();
        self.senders.lock().unwrap().clear();
    }

    /// The calls so far.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    /// A unit's file state now.
    pub fn file_state(&self, unit: &str) -> String {
        self.units.lock().unwrap()[unit].file.clone()
    }
}
