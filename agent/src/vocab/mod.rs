//! The shared vocabulary: roles, auth modes, the stack's services and their unit names, and
//! the ports its parts agree on. A leaf: it imports nothing of the crate, and every layer
//! may use it.

pub mod fragment;
pub mod ports;
pub mod role;
pub mod service;

pub use fragment::Fragment;
pub use role::{AuthMode, Role};
pub use service::{Refresh, Service};
