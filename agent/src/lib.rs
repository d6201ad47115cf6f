//! meet-agent: turns a generic ryo-jitsi image into this Jitsi Meet server at first boot,
//! and tells an operator whether the server is healthy.
//!
//! The binary (`main.rs`) is a thin CLI over this library so that integration tests can
//! drive the same code paths against local servers and fixture trees.

pub mod access;
pub mod apply;
pub mod aws;
pub mod bridge;
pub mod cli;
pub mod commands;
pub mod config;
pub mod dns;
pub mod effective;
pub mod encoding;
pub mod firewall;
pub mod fsutil;
pub mod host;
pub mod http_body;
pub mod identity;
pub mod instance;
pub mod jitsi;
pub mod logging;
pub mod ops;
pub mod paths;
pub mod pipeline;
pub mod plan;
pub mod printable;
pub mod recording;
pub mod redact;
pub mod retry;
pub mod scale;
pub mod secret;
pub mod sip;
pub mod source;
pub mod state;
pub mod status;
pub mod systemd;
pub mod tls;
pub mod tune;
pub mod users;
pub mod vocab;
pub mod well_formed;
pub mod write_behind;

/// Installs ring as the process-wide rustls crypto provider.
///
/// reqwest is built without a provider of its own (`rustls-no-provider`) so that the
/// whole tree uses one crypto library; calling this twice is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
