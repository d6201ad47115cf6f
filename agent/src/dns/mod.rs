//! Dynamic DNS: sending this server's address to DNS providers, and waiting until DNS
//! answers it, so that a certificate is never ordered for a name that points elsewhere.

pub mod rfc2136;
pub mod settings;
pub mod target;
pub mod url_update;
pub mod wait;

pub use settings::{DnsSettings, Update};
pub use target::{Target, UpdateError};
pub use wait::WaitSettings;
