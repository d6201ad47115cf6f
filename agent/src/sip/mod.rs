//! Phones in meetings: jigasi, the SIP gateway that joins meetings as a participant,
//! registered at the operator's SIP provider or PBX. [`settings`] is `[sip]` as the
//! configuration settles it.

pub mod settings;

pub use settings::{DialInNumber, SipAccount, SipSettings, Transport};
