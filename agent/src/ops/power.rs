//! Power off and reboot through systemd-logind's D-Bus API (org.freedesktop.login1), as
//! `systemctl poweroff` does, rather than by spawning `shutdown`.

use anyhow::{anyhow, Context, Result};
use std::time::Duration;

#[zbus::proxy(
    interface = "org.freedesktop.login1.Manager",
    default_service = "org.freedesktop.login1",
    default_path = "/org/freedesktop/login1"
)]
trait Login {
    fn power_off(&self, interactive: bool) -> zbus::Result<()>;
    fn reboot(&self, interactive: bool) -> zbus::Result<()>;
}

/// What to do with the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Power off.
    PowerOff,
    /// Reboot.
    Reboot,
}

impl Action {
    /// "power off" / "reboot".
    pub fn words(self) -> &'static str {
        match self {
            Action::PowerOff => "power off",
            Action::Reboot => "reboot",
        }
    }
}

/// Asks logind to power off or reboot (on the system bus, or `DBUS_SYSTEM_BUS_ADDRESS`).
pub async fn request(action: Action) -> Result<()> {
    let timeout = Duration::from_secs(10);
    let conn = crate::systemd::dbus::system_bus().await?;
    let login = LoginProxy::new(&conn).await?;
    // Not interactive: no polkit prompt; root is allowed.
    let call = async {
        match action {
            Action::PowerOff => login.power_off(false).await,
            Action::Reboot => login.reboot(false).await,
        }
    };
    tokio::time::timeout(timeout, call)
        .await
        .map_err(|_| anyhow!("logind did not answer within {timeout:?}"))?
        .with_context(|| format!("logind refused to {}", action.words()))
}
