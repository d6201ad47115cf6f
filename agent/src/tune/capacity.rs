//! How many participants this machine carries, from the bandwidth model in the research
//! report the product grew from (seeds/004): with simulcast every participant sends one
//! stream of each quality (720p or 1080p, 360p, 180p) and receives the speaker in high
//! quality and everyone else at 180p; a fluctuation factor of 1.2 covers clients that
//! send more than the nominal rate. The CPU side is a per-CPU figure (`tune.participants_per_cpu`).

use crate::paths::Paths;

/// Nominal stream rates from the report, Mbit/s.
const HD_720: f64 = 2.5;
const HD_1080: f64 = 5.0;
const SD_360: f64 = 0.6;
const LD_180: f64 = 0.2;
/// The report's network fluctuation factor.
const FLUCTUATION: f64 = 1.2;

/// Bandwidth one participant costs the server (in + out), Mbit/s, in a meeting of
/// `meeting_size` with `top` the high-quality stream's rate.
pub fn per_participant_mbit(top: f64, meeting_size: u32) -> f64 {
    let others = f64::from(meeting_size.saturating_sub(1));
    let inbound = (top + SD_360 + LD_180) * FLUCTUATION;
    let outbound = (top + others * LD_180) * FLUCTUATION;
    inbound + outbound
}

/// The estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct Capacity {
    /// Participants at 720p.
    pub participants_720p: u64,
    /// Participants at 1080p.
    pub participants_1080p: u64,
    /// What limits it: `cpu` or `network`.
    pub limited_by: String,
    /// CPUs counted.
    pub cpus: usize,
    /// Network bandwidth counted, Mbit/s, when known.
    pub bandwidth_mbit: Option<u32>,
    /// Meeting size assumed.
    pub meeting_size: u32,
}

impl Capacity {
    /// "about N participants at 720p (M at 1080p), limited by ...".
    pub fn summary(&self) -> String {
        let network = match self.bandwidth_mbit {
            Some(b) => format!("{b} Mbit/s"),
            None => "network bandwidth unknown, set tune.bandwidth_mbit".into(),
        };
        format!(
            "about {} participants at 720p ({} at 1080p) in meetings of {}, limited by {} ({} CPUs; {network})",
            self.participants_720p,
            self.participants_1080p,
            self.meeting_size,
            self.limited_by,
            self.cpus
        )
    }
}

/// Estimates from the CPU count and the bandwidth, when known.
pub fn estimate(
    cpus: usize,
    bandwidth_mbit: Option<u32>,
    participants_per_cpu: u32,
    meeting_size: u32,
) -> Capacity {
    let by_cpu = cpus as u64 * u64::from(participants_per_cpu);
    let by_network = |top: f64| {
        bandwidth_mbit.map(|b| (f64::from(b) / per_participant_mbit(top, meeting_size)) as u64)
    };
    let (n720, n1080) = (by_network(HD_720), by_network(HD_1080));
    let network_limits = n720.is_some_and(|n| n < by_cpu);
    Capacity {
        participants_720p: n720.map_or(by_cpu, |n| n.min(by_cpu)),
        participants_1080p: n1080.map_or(by_cpu, |n| n.min(by_cpu)),
        limited_by: if network_limits { "network" } else { "cpu" }.into(),
        cpus,
        bandwidth_mbit,
        meeting_size,
    }
}

/// The link speed of the interface holding the default route, in Mbit/s, where the driver
/// reports one (virtio and many cloud NICs report none).
pub fn link_speed_mbit(paths: &Paths) -> Option<u32> {
    let routes = std::fs::read_to_string(paths.join("/proc/net/route")).ok()?;
    let iface = routes.lines().skip(1).find_map(|line| {
        let mut fields = line.split_whitespace();
        let name = fields.next()?;
        (fields.next()? == "00000000").then(|| name.to_string())
    })?;
    let speed =
        std::fs::read_to_string(paths.join(&format!("/sys/class/net/{iface}/speed"))).ok()?;
    speed
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|s| *s > 0)
        .and_then(|s| u32::try_from(s).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reports_ten_person_meeting_figures() {
        // The report: 720p 40 + 51 ~= 91 Mbit/s for ten people; 1080p 70 + 82 ~= 152.
        assert!((per_participant_mbit(HD_720, 10) * 10.0 - 91.2).abs() < 0.01);
        assert!((per_participant_mbit(HD_1080, 10) * 10.0 - 151.2).abs() < 0.01);
    }

    #[test]
    fn the_smaller_of_cpu_and_network_limits() {
        let gigabit = estimate(8, Some(1000), 20, 10);
        assert_eq!(
            (gigabit.participants_720p, gigabit.participants_1080p),
            (109, 66)
        );
        assert_eq!(gigabit.limited_by, "network");
        let small = estimate(2, Some(1000), 20, 10);
        assert_eq!(
            (small.participants_720p, small.limited_by.as_str()),
            (40, "cpu")
        );
        let unknown = estimate(2, None, 20, 10);
        assert!(unknown.summary().contains("network bandwidth unknown"));
    }
}
