//! What a machine is in a deployment, and how its meetings are entered: the words every
//! layer uses (configuration parses them, renderers, status and the pipeline branch on them).

use serde::{Deserialize, Serialize};

/// `server.role`: what this machine is in a deployment.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The whole stack on one machine (prosody, jicofo, the web app, coturn and a bridge).
    #[default]
    All,
    /// prosody, jicofo, the web app and coturn; videobridges join it from other machines
    /// (and a local one with `bridges.local = true`).
    Signaling,
    /// Only jitsi-videobridge2 (and the agent), joining a signaling node with `bridge.join`.
    Videobridge,
    /// Only jibri (and the agent): records or streams one meeting at a time for the
    /// signaling node whose recorder token is in `bridge.join`.
    Recorder,
    /// Only jigasi (and the agent): connects phones to meetings through the operator's SIP
    /// account (`[sip]`) for the signaling node whose SIP token is in `bridge.join`.
    Sip,
}

impl Role {
    /// A machine that joins a signaling node with a token and serves no web site.
    pub fn joins(self) -> bool {
        matches!(self, Role::Videobridge | Role::Recorder | Role::Sip)
    }

    /// What a machine of this role is, in a sentence ("a SIP gateway of meet.example.org").
    pub fn noun(self) -> &'static str {
        match self {
            Role::Sip => "SIP gateway",
            Role::All => "server",
            Role::Signaling => "signaling node",
            other => other.as_str(),
        }
    }

    /// The name in the configuration and in status.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::All => "all",
            Role::Signaling => "signaling",
            Role::Videobridge => "videobridge",
            Role::Recorder => "recorder",
            Role::Sip => "sip",
        }
    }
}

/// The `jitsi.auth` choice.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMode {
    /// Anyone may create rooms.
    #[default]
    Open,
    /// Registered users create rooms; guests may join them.
    SecureDomain,
    /// A signed token (JWT) is needed; moderator rights come from its claims.
    Jwt,
}

impl AuthMode {
    /// The value as written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::Open => "open",
            AuthMode::SecureDomain => "secure-domain",
            AuthMode::Jwt => "jwt",
        }
    }
}
