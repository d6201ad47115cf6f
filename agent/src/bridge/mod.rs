//! Videobridges on machines of their own: what a bridge needs to join a signaling node.
//!
//! The jitsi step renders a bridge's jvb.conf from the token ([`token`]) and installs its
//! certificate as a trust anchor ([`trust`]); status probes the signaling node with it
//! ([`probe`]); docs/scale-out.md describes the whole.

pub mod probe;
pub mod roles;
pub mod token;
pub mod trust;
pub mod xmpp_cert;
