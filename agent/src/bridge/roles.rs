//! A machine's place in a deployment, as configuration settles it.

use crate::well_formed::Cidr;

/// What the roles' keys (`server.role`, `[bridges]`, `[bridge]`) amount to, checked by
/// config: this machine's place in a deployment and how it joins the others.
#[derive(Debug, Clone, Default)]
pub struct RoleSettings {
    /// This machine's role.
    pub role: crate::vocab::Role,
    /// A signaling node also runs a bridge (always true for `all`).
    pub local_bridge: bool,
    /// Where bridges may connect from (signaling).
    pub bridge_sources: Vec<Cidr>,
    /// The join token (videobridge: the signaling node to join; signaling: a pre-made one
    /// to adopt).
    pub join: Option<crate::bridge::token::Token>,
    /// The key for a pre-made token's certificate (signaling).
    pub auth_key: Option<crate::secret::SecretMaterial>,
    /// Where a bridge connects instead of the token's host.
    pub signaling_host: Option<String>,
    /// The lifecycle hook a bridge completes after draining.
    pub drain_hook: Option<String>,
    /// The bridge's region for relays, when configured.
    pub region: Option<String>,
}
