//! Decisions as pure functions: what the agent observed goes in, what it should do comes
//! out, with no I/O, so each decision is followed in one place and tested row by row.

pub mod certificate;
pub mod xmpp;
