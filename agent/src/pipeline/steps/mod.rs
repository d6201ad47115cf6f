//! The pipeline's steps, one module each.

pub mod access;
pub mod ddns;
pub mod dns_wait;
pub mod firewall;
pub mod identity;
pub mod jitsi;
pub mod schedule;
pub mod secrets;
pub mod start;
pub mod tls;
pub mod tune;
pub mod updates;
