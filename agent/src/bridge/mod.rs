//! Videobridges on machines of their own: what a bridge needs to join a signaling node.
//!
//! Self-contained for now; the `server.role` and `bridge.join` wiring (see
//! docs/aws-scale-out.md) builds on these pieces.

pub mod command;
pub mod probe;
pub mod token;
pub mod trust;
pub mod xmpp_cert;
