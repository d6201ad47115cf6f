//! The timer units the schedule step renders: scheduled shutdown (`schedule.shutdown`),
//! the idle check (`schedule.idle_shutdown_minutes`) and the maintenance window for reboots
//! after updates (`updates.reboot_window`). The services they start ship with the package.

/// Scheduled shutdown.
pub const SHUTDOWN_TIMER: &str = "meet-agent-shutdown.timer";
/// The idle check, every minute.
pub const IDLE_TIMER: &str = "meet-agent-idle.timer";
/// The maintenance window.
pub const MAINTENANCE_TIMER: &str = "meet-agent-maintenance.timer";
/// Where rendered timers go.
pub const DIR: &str = "/etc/systemd/system";

/// Renders the scheduled-shutdown timer: one `OnCalendar=` per expression.
pub fn shutdown_timer(calendar: &[String]) -> String {
    let mut out = String::from(
        "# Managed by meet-agent ([schedule] shutdown).\n[Unit]\n\
         Description=Scheduled, meeting-aware shutdown of this Jitsi server\n\n[Timer]\n",
    );
    for expression in calendar {
        out.push_str(&format!("OnCalendar={expression}\n"));
    }
    out.push_str("AccuracySec=1min\n");
    out
}

/// Renders the idle-check timer: a check every configured minute (`minute_seconds`, 60
/// on a real machine; a test harness's shorter minute makes the checks as frequent).
pub fn idle_timer(idle_minutes: u32, minute_seconds: u64) -> String {
    let (every, accuracy) = if minute_seconds == 60 {
        ("1min".to_string(), "5s")
    } else {
        (format!("{minute_seconds}s"), "1s")
    };
    format!(
        "# Managed by meet-agent ([schedule] idle_shutdown_minutes = {idle_minutes}).\n[Unit]\n\
         Description=Power this Jitsi server off after {idle_minutes} min without a conference\n\n\
         [Timer]\nOnBootSec={every}\nOnUnitActiveSec={every}\nAccuracySec={accuracy}\n"
    )
}

/// Renders the maintenance-window timer.
pub fn maintenance_timer(window: &str, minutes: u32) -> String {
    format!(
        "# Managed by meet-agent ([updates] reboot_window).\n[Unit]\n\
         Description=Maintenance window ({minutes} min): reboot if updates need it and no conference runs\n\n\
         [Timer]\nOnCalendar={window}\nAccuracySec=1min\n"
    )
}
