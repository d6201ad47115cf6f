//! A stand-in for systemd-logind's Manager on a private bus (see `bus.rs`): it records each
//! PowerOff and Reboot with the wall-clock time it came in, so tests can assert what was
//! asked and that it came after (or never before) something else.

// Each test binary uses a different part of it.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// What logind was asked, in order: `PowerOff false`, `Reboot false`, ... with the
/// wall-clock time in seconds since the epoch.
pub type Asked = Arc<Mutex<Vec<(String, f64)>>>;

/// A log of every stand-in's calls, in order, that a test may share with other stand-ins.
pub type Shared = Arc<Mutex<Vec<String>>>;

struct Manager {
    asked: Asked,
    shared: Option<Shared>,
}

impl Manager {
    fn record(&self, call: String) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        if let Some(shared) = &self.shared {
            shared.lock().unwrap().push(call.clone());
        }
        self.asked.lock().unwrap().push((call, now));
    }
}

#[zbus::interface(name = "org.freedesktop.login1.Manager")]
impl Manager {
    fn power_off(&self, interactive: bool) {
        self.record(format!("PowerOff {interactive}"));
    }
    fn reboot(&self, interactive: bool) {
        self.record(format!("Reboot {interactive}"));
    }
}

/// The stand-in, serving while it lives.
pub struct Logind {
    _conn: zbus::Connection,
    /// What it was asked.
    pub asked: Asked,
}

impl Logind {
    /// Serves `org.freedesktop.login1` on the bus at `address`; each call also goes to
    /// `shared` when given (a test's log of all its stand-ins).
    pub async fn serve(address: &str, shared: Option<Shared>) -> Self {
        let asked = Asked::default();
        let conn = zbus::connection::Builder::address(address)
            .unwrap()
            .name("org.freedesktop.login1")
            .unwrap()
            .serve_at(
                "/org/freedesktop/login1",
                Manager {
                    asked: asked.clone(),
                    shared,
                },
            )
            .unwrap()
            .build()
            .await
            .unwrap();
        Self { _conn: conn, asked }
    }

    /// The calls so far, without their times.
    pub fn calls(&self) -> Vec<String> {
        self.asked
            .lock()
            .unwrap()
            .iter()
            .map(|(c, _)| c.clone())
            .collect()
    }
}
