//! The Jitsi stack's configuration, rendered by the agent from its config, the machine's
//! identity and the per-instance secrets. Only files the agent owns are written, atomically
//! and only when their content changes; each has a documented local file for additions.

pub mod coturn;
pub mod secrets;

/// Validated `[jitsi]` settings.
#[derive(Debug, Clone)]
pub struct JitsiSettings {
    /// TURN (coturn).
    pub turn: coturn::TurnSettings,
}
