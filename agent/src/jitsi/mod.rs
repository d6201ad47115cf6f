//! The Jitsi stack's configuration, rendered by the agent from its config, the machine's
//! identity and the per-instance secrets. Only files the agent owns are written, atomically
//! and only when their content changes; each has a documented local file for additions.

pub mod assemble;
pub mod coturn;
pub mod hocon;
pub mod jicofo;
pub mod jwt_check;
pub mod leftovers;
pub mod nginx;
pub mod prosody;
pub mod prosody_accounts;
pub mod prosody_roster;
pub mod prosodyctl;
pub mod secrets;
pub mod videobridge;
pub mod web;

pub use crate::config::schema::AuthMode;

/// Validated `[jitsi]` settings.
#[derive(Debug, Clone)]
pub struct JitsiSettings {
    /// Who may create rooms.
    pub auth: AuthMode,
    /// JWT application id (JWT mode).
    pub jwt_app_id: Option<String>,
    /// A configured JWT secret (else the per-instance one).
    pub jwt_app_secret: Option<crate::config::schema::Secret>,
    /// TURN (coturn).
    pub turn: coturn::TurnSettings,
    /// The lobby.
    pub lobby: bool,
    /// The pre-join page.
    pub prejoin: bool,
    /// End-to-end encryption offered.
    pub e2ee: bool,
    /// Audio and video quality (codec names upper-cased).
    pub quality: crate::config::schema::Quality,
}
