//! Talking to systemd: unit state and start/reload over D-Bus (zbus), and sd_notify.

pub mod dbus;
pub mod notify;

pub use dbus::{Systemd, UnitStatus, STACK_UNITS, TLS_CONSUMERS};
