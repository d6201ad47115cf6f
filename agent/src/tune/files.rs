//! The files the tune step owns: a sysctl drop-in (UDP buffers, backlog), the Java heaps
//! of the videobridge and jicofo as environment files, and, only when `tune.nofile` or
//! `tune.tasks_max` differ from the defaults, a limits drop-in for both units.
//!
//! The package ships a static drop-in for each unit (limits 65000 and
//! `EnvironmentFile=-/var/lib/meet-agent/tune/UNIT.env`), so that sizing the heap at
//! first boot needs no daemon-reload (seconds on a small VM): the unit reads the file when
//! it starts. The heap is in the environment because jicofo's package rewrites its own
//! config file on every upgrade, and a value in the bridge's file would override ours.

use super::heap::Heaps;
use crate::tune::settings::Tune;

/// The sysctl drop-in (systemd-sysctl applies it at every boot; the step applies it now).
pub const SYSCTL: &str = "/etc/sysctl.d/60-ryo-jitsi.conf";
/// The limits the shipped drop-ins set.
pub const SHIPPED_LIMIT: u32 = 65_000;
/// The two units, with the variable their start scripts read the heap from.
pub const UNITS: [(&str, &str); 2] = [
    ("jitsi-videobridge2", "VIDEOBRIDGE_MAX_MEMORY"),
    ("jicofo", "JICOFO_MAX_MEMORY"),
];

/// The heap environment file of `unit`.
pub fn env_path(unit: &str) -> String {
    format!("/var/lib/meet-agent/tune/{unit}.env")
}

/// The limits drop-in of `unit` (only written when the limits are not the shipped ones).
pub fn limits_path(unit: &str) -> String {
    format!("/etc/systemd/system/{unit}.service.d/61-ryo-jitsi-limits.conf")
}

/// The kernel settings: (sysctl name, value).
pub fn sysctls(tune: &Tune) -> [(&'static str, u32); 3] {
    [
        ("net.core.rmem_max", tune.udp_buffer_bytes),
        ("net.core.wmem_max", tune.udp_buffer_bytes),
        ("net.core.netdev_max_backlog", tune.netdev_max_backlog),
    ]
}

/// Renders the sysctl drop-in.
pub fn render_sysctl(tune: &Tune) -> String {
    let mut out =
        String::from("# Managed by meet-agent ([tune]): room for the videobridge's UDP bursts.\n");
    for (name, value) in sysctls(tune) {
        out.push_str(&format!("{name} = {value}\n"));
    }
    out
}

/// The heap environment file's content.
pub fn render_env(variable: &str, heap_mib: u64) -> String {
    format!("# Managed by meet-agent ([tune]).\n{variable}={heap_mib}m\n")
}

/// The limits drop-in, when `tune` asks for other limits than the shipped drop-in's.
pub fn render_limits(tune: &Tune) -> Option<String> {
    (tune.nofile != SHIPPED_LIMIT || tune.tasks_max != SHIPPED_LIMIT).then(|| {
        format!(
            "# Managed by meet-agent ([tune] nofile, tasks_max).\n[Service]\nLimitNOFILE={}\nTasksMax={}\n",
            tune.nofile, tune.tasks_max
        )
    })
}

/// Each unit's heap: (unit, variable, MiB).
pub fn heaps_of(heaps: &Heaps) -> [(&'static str, &'static str, u64); 2] {
    [
        (UNITS[0].0, UNITS[0].1, heaps.videobridge_mib),
        (UNITS[1].0, UNITS[1].1, heaps.jicofo_mib),
    ]
}
