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
/// The site's loopback port behind nginx's stream server when TURN shares port 443.
pub const SITE_BEHIND_STREAM: u16 = 4444;
/// The loopback port where nginx's stream server takes the PROXY protocol header off TURN
/// connections before coturn.
pub const TURN_BEHIND_STREAM: u16 = 4445;
/// The ports nginx takes when TURN shares port 443 (coturn may not listen on them).
pub const STREAM_PORTS: [u16; 3] = [443, SITE_BEHIND_STREAM, TURN_BEHIND_STREAM];
