//! Ports and names the stack's parts agree on, spelled once.

/// XMPP client-to-server port: clients, jicofo, bridges and other roles log in here.
pub const XMPP_CLIENT: u16 = 5222;
/// prosody's HTTP port on loopback (BOSH, websocket, its HTTP modules), behind nginx.
pub const PROSODY_HTTP: u16 = 5280;
/// The videobridge's private REST port (loopback): `/colibri/stats`, `/colibri/shutdown`.
pub const VIDEOBRIDGE_REST: u16 = 8080;
/// jicofo's private REST port (loopback): `/stats`, `/about/health`, `/debug`.
pub const JICOFO_REST: u16 = 8888;
/// The relay region a bridge announces when neither the configuration nor the instance
/// metadata names one.
pub const DEFAULT_REGION: &str = "default";
