//! The files the tune step owns: a sysctl drop-in (UDP buffers, backlog) and systemd
//! drop-ins for the videobridge and jicofo (file and task limits, Java heap). The heap goes
//! in the units' environment because jicofo's package rewrites its own config file on
//! every upgrade, and a value in the bridge's file would override ours.

use super::heap::Heaps;
use crate::config::schema::Tune;

/// The sysctl drop-in (systemd-sysctl applies it at every boot; the step applies it now).
pub const SYSCTL: &str = "/etc/sysctl.d/60-ryo-jitsi.conf";
/// The videobridge's unit drop-in.
pub const VIDEOBRIDGE_DROPIN: &str =
    "/etc/systemd/system/jitsi-videobridge2.service.d/60-ryo-jitsi.conf";
/// jicofo's unit drop-in.
pub const JICOFO_DROPIN: &str = "/etc/systemd/system/jicofo.service.d/60-ryo-jitsi.conf";

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

/// Renders a unit drop-in with the limits and `variable` (the heap) set to `heap_mib`.
pub fn render_dropin(tune: &Tune, variable: &str, heap_mib: u64) -> String {
    format!(
        "# Managed by meet-agent ([tune]); override in a later-named drop-in.\n\
         [Service]\n\
         LimitNOFILE={}\n\
         TasksMax={}\n\
         Environment={variable}={heap_mib}m\n",
        tune.nofile, tune.tasks_max
    )
}

/// Both unit drop-ins: (path, content).
pub fn dropins(tune: &Tune, heaps: &Heaps) -> [(&'static str, String); 2] {
    [
        (
            VIDEOBRIDGE_DROPIN,
            render_dropin(tune, "VIDEOBRIDGE_MAX_MEMORY", heaps.videobridge_mib),
        ),
        (
            JICOFO_DROPIN,
            render_dropin(tune, "JICOFO_MAX_MEMORY", heaps.jicofo_mib),
        ),
    ]
}
