//! The Jitsi stack's configuration, rendered by the agent from its config, the machine's
//! identity and the per-instance secrets. Only files the agent owns are written, atomically
//! and only when their content changes; each has a documented local file for additions.

pub mod assemble;
pub mod coturn;
pub mod dial_in;
pub mod hocon;
pub mod jibri;
pub mod jibri_api;
pub mod jicofo;
pub mod jicofo_api;
pub mod jigasi;
pub mod jigasi_api;
pub mod jwt_check;
pub mod leftovers;
pub mod nginx;
pub mod prosody;
pub mod prosody_accounts;
pub mod prosody_roster;
pub mod prosodyctl;
pub mod secrets;
pub mod settings;
pub mod videobridge;
pub mod videobridge_api;
pub mod web;

pub use crate::vocab::AuthMode;
pub use settings::{JitsiSettings, Quality};
