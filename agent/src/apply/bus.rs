//! One connection to systemd per run, made when a step first needs it.

use crate::systemd::Systemd;
use anyhow::{anyhow, Result};

/// The run's connection to systemd: made on first use and shared by every step after it;
/// a failure to connect is remembered, so later steps do not wait for the bus again.
#[derive(Default)]
pub struct Bus {
    connection: Option<Result<Systemd, String>>,
}

impl Bus {
    /// A bus not yet connected.
    pub fn new() -> Self {
        Self::default()
    }

    /// The run's connection to systemd, connecting on first use.
    pub async fn systemd(&mut self) -> Result<&Systemd> {
        if self.connection.is_none() {
            let made = Systemd::connect().await.map_err(|e| format!("{e:#}"));
            self.connection = Some(made);
        }
        match &self.connection {
            Some(Ok(systemd)) => Ok(systemd),
            Some(Err(e)) => Err(anyhow!("{e}")),
            None => Err(anyhow!("no connection to systemd was made")),
        }
    }
}
