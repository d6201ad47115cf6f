//! Java heaps for the videobridge and jicofo, sized from the machine's memory with a floor
//! and a cap, and never more than the machine holds alongside the rest of the stack.
//! (Jitsi's packages default to 3 GiB each, which a 2 GiB VM cannot hold.)

use crate::tune::settings::Tune;

/// Memory kept for the system, prosody, nginx, coturn and the two JVMs' memory outside
/// their heaps (metaspace, threads, buffers), in MiB.
pub const RESERVED_MIB: u64 = 1280;
/// jicofo's heap floor and cap, MiB.
pub const JICOFO_RANGE: (u64, u64) = (256, 1024);
/// The videobridge's heap floor and cap, MiB.
pub const VIDEOBRIDGE_RANGE: (u64, u64) = (512, 8192);
/// The smallest machine the stack fits on.
pub const MINIMUM_MIB: u64 = RESERVED_MIB + JICOFO_RANGE.0 + VIDEOBRIDGE_RANGE.0;

/// The heaps to set, and what was adjusted on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heaps {
    /// The videobridge's heap, MiB.
    pub videobridge_mib: u64,
    /// jicofo's heap, MiB.
    pub jicofo_mib: u64,
    /// Configured values that did not fit, or a machine below the minimum.
    pub warnings: Vec<String>,
}

/// Sizes the heaps for a machine with `memory_mib` of memory: jicofo an eighth, the bridge
/// what is left after the reserve; configured values are kept when they fit.
pub fn size(memory_mib: u64, tune: &Tune) -> Heaps {
    let mut warnings = Vec::new();
    let clamp = |v: u64, (lo, hi): (u64, u64)| v.clamp(lo, hi);
    let auto_jicofo = clamp(memory_mib / 8, JICOFO_RANGE);
    let jicofo = match u64::from(tune.jicofo_heap_mib) {
        0 => auto_jicofo,
        set if set + RESERVED_MIB + VIDEOBRIDGE_RANGE.0 > memory_mib => {
            warnings.push(format!(
                "tune.jicofo_heap_mib = {set} does not fit this machine's {memory_mib} MiB beside the rest; using {auto_jicofo}"
            ));
            auto_jicofo
        }
        set => set,
    };
    let room = memory_mib.saturating_sub(RESERVED_MIB + jicofo);
    let auto_bridge = clamp(room, VIDEOBRIDGE_RANGE);
    let videobridge = match u64::from(tune.videobridge_heap_mib) {
        0 => auto_bridge,
        set if set > room => {
            warnings.push(format!(
                "tune.videobridge_heap_mib = {set} does not fit this machine's {memory_mib} MiB beside the rest (at most {room}); using {auto_bridge}"
            ));
            auto_bridge
        }
        set => set,
    };
    if memory_mib < MINIMUM_MIB {
        warnings.push(format!(
            "this machine has {memory_mib} MiB; the videobridge and jicofo need at least {MINIMUM_MIB} MiB"
        ));
    }
    Heaps {
        videobridge_mib: videobridge,
        jicofo_mib: jicofo,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auto(memory: u64) -> (u64, u64, usize) {
        let h = size(memory, &Tune::default());
        (h.videobridge_mib, h.jicofo_mib, h.warnings.len())
    }

    #[test]
    fn heaps_grow_with_memory_between_floor_and_cap() {
        assert_eq!(auto(2048), (512, 256, 0));
        assert_eq!(auto(4096), (2304, 512, 0));
        assert_eq!(auto(8192), (5888, 1024, 0));
        assert_eq!(auto(65536), (8192, 1024, 0));
        // Below the minimum: floors, and a warning.
        assert_eq!(auto(1024), (512, 256, 1));
    }

    #[test]
    fn a_configured_heap_is_kept_only_when_it_fits() {
        let tune = Tune {
            videobridge_heap_mib: 3000,
            ..Tune::default()
        };
        let fits = size(8192, &tune);
        assert_eq!((fits.videobridge_mib, fits.warnings.len()), (3000, 0));
        let too_big = size(4096, &tune);
        assert_eq!(too_big.videobridge_mib, 2304);
        assert!(too_big.warnings[0].contains("tune.videobridge_heap_mib = 3000"));
    }
}
