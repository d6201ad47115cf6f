//! apply: what the agent changes on the machine and what that change asks of systemd.
//!
//! Files are written atomically; before the first write that changes a service's file, the
//! service is recorded durably as pending a refresh ([`Refreshes`]), and it leaves that
//! record only once systemd has reloaded, restarted or started it. A run killed between
//! the two therefore costs nothing: the next run refreshes what is still pending. Each
//! service is refreshed at most once per run, over one D-Bus connection ([`Bus`]).

mod beneath;
mod bus;
mod pending;
mod refresh;

mod stale;

pub use crate::vocab::{Refresh, Service};
pub use beneath::{write_beneath, Owner};
pub use bus::Bus;
pub use pending::{Refreshes, PENDING_REFRESH};
pub use refresh::{bring_up, bring_up_one, bring_up_role, BroughtUp, Refresher, Report, UnitState};
pub use stale::remove_stale_temporaries;
