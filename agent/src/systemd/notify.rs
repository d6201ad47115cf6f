//! sd_notify: READY and a human STATUS line for `systemctl status meet-agent`.

use sd_notify::NotifyState;

/// Sets the unit's STATUS line (no-op outside systemd).
pub fn status(line: &str) {
    if let Err(e) = sd_notify::notify(false, &[NotifyState::Status(line)]) {
        tracing::debug!("sd_notify STATUS failed: {e}");
    }
}

/// Tells systemd the first-boot work is done, with a final STATUS line.
pub fn ready(line: &str) {
    if let Err(e) = sd_notify::notify(false, &[NotifyState::Status(line), NotifyState::Ready]) {
        tracing::debug!("sd_notify READY failed: {e}");
    }
}
