//! `[tune]`: the tuning step's settings, as the configuration file spells them (config
//! parses them into this type; the tuning code reads nothing else of the configuration).

use serde::{Deserialize, Serialize};

/// `[tune]`: the kernel and the stack sized to this machine.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tune {
    /// Whether the tune step writes anything.
    pub enabled: bool,
    /// The videobridge's Java heap in MiB; 0 sizes it from the machine's memory.
    pub videobridge_heap_mib: u32,
    /// jicofo's Java heap in MiB; 0 sizes it from the machine's memory.
    pub jicofo_heap_mib: u32,
    /// net.core.rmem_max and wmem_max, bytes.
    pub udp_buffer_bytes: u32,
    /// net.core.netdev_max_backlog, packets.
    pub netdev_max_backlog: u32,
    /// LimitNOFILE for the videobridge and jicofo.
    pub nofile: u32,
    /// TasksMax for the videobridge and jicofo.
    pub tasks_max: u32,
    /// The machine's network bandwidth in Mbit/s for the capacity estimate; 0 reads the
    /// interface's link speed where it reports one.
    pub bandwidth_mbit: u32,
    /// Participants one CPU carries, for the capacity estimate.
    pub participants_per_cpu: u32,
    /// Participants in a typical meeting, for the capacity estimate.
    pub meeting_size: u32,
}

impl Default for Tune {
    fn default() -> Self {
        Self {
            enabled: true,
            videobridge_heap_mib: 0,
            jicofo_heap_mib: 0,
            udp_buffer_bytes: 10_485_760,
            netdev_max_backlog: 100_000,
            nofile: 65_000,
            tasks_max: 65_000,
            bandwidth_mbit: 0,
            participants_per_cpu: 20,
            meeting_size: 10,
        }
    }
}
