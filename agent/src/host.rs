//! Facts about the machine the agent runs on (interfaces, memory, CPUs, boot id, clock),
//! behind one small trait: the running system answers them in production, a JSON file
//! (`source.host_facts` in the drop-ins) answers them for a fixture root, so that a test can say
//! "a machine with 4 GiB and 2 CPUs" instead of asserting whatever the build host has.

use crate::paths::Paths;
use anyhow::{anyhow, Result};
use serde::Deserialize;
use std::net::IpAddr;
use std::path::Path;

/// What the agent asks about the machine.
pub trait HostFacts {
    /// Every address on the machine's interfaces (loopback and link-local included).
    fn interfaces(&self) -> Vec<IpAddr>;
    /// Total memory in MiB (0 when unknown).
    fn memory_mib(&self) -> u64;
    /// Online CPUs (at least 1).
    fn cpus(&self) -> usize;
    /// This boot's id ("" when there is none, as below a fixture root).
    fn boot_id(&self) -> String;
    /// The current time.
    fn now(&self) -> time::OffsetDateTime;
}

/// The facts of the running system; the boot id is read below the root, as every file is.
pub struct System {
    boot_id_file: std::path::PathBuf,
}

impl System {
    /// The running system, with the boot id read below `paths`' root.
    pub fn new(paths: &Paths) -> Self {
        Self {
            boot_id_file: paths.join("/proc/sys/kernel/random/boot_id"),
        }
    }
}

impl HostFacts for System {
    fn interfaces(&self) -> Vec<IpAddr> {
        let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
            return Vec::new();
        };
        addrs
            .filter_map(|a| {
                let addr = a.address?;
                if let Some(v4) = addr.as_sockaddr_in() {
                    Some(IpAddr::V4(v4.ip()))
                } else {
                    addr.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
                }
            })
            .collect()
    }

    fn memory_mib(&self) -> u64 {
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .map_or(0, |kib| kib / 1024)
    }

    fn cpus(&self) -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }

    fn boot_id(&self) -> String {
        std::fs::read_to_string(&self.boot_id_file)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    }

    fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc()
    }
}

/// What a host facts file may say; every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Given {
    interfaces: Option<Vec<IpAddr>>,
    memory_mib: Option<u64>,
    cpus: Option<usize>,
    boot_id: Option<String>,
    now: Option<String>,
}

/// Facts given in a file; what it leaves out comes from the running system.
pub struct Fixed {
    given: Given,
    now: Option<time::OffsetDateTime>,
    system: System,
}

impl Fixed {
    /// Reads the facts from the JSON file `file` (keys `interfaces`, `memory_mib`, `cpus`,
    /// `boot_id`, `now` as RFC 3339).
    pub fn read(file: &Path, paths: &Paths) -> Result<Self> {
        let bytes = crate::fsutil::read_regular(file, crate::fsutil::CONFIG_LIMIT)?;
        let given: Given = serde_json::from_slice(&bytes).map_err(|e| {
            anyhow!(
                "host facts file {} is not valid: {e}; give a JSON object with any of interfaces, memory_mib, cpus, boot_id and now",
                file.display()
            )
        })?;
        let now = match &given.now {
            Some(text) => Some(
                time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                    .map_err(|e| {
                        anyhow!(
                            "host facts file {}: `now` is not an RFC 3339 time ({e}); write it as 2030-01-02T03:04:05Z",
                            file.display()
                        )
                    })?,
            ),
            None => None,
        };
        Ok(Self {
            given,
            now,
            system: System::new(paths),
        })
    }
}

impl HostFacts for Fixed {
    fn interfaces(&self) -> Vec<IpAddr> {
        self.given
            .interfaces
            .clone()
            .unwrap_or_else(|| self.system.interfaces())
    }
    fn memory_mib(&self) -> u64 {
        self.given
            .memory_mib
            .unwrap_or_else(|| self.system.memory_mib())
    }
    fn cpus(&self) -> usize {
        self.given.cpus.unwrap_or_else(|| self.system.cpus()).max(1)
    }
    fn boot_id(&self) -> String {
        self.given
            .boot_id
            .clone()
            .unwrap_or_else(|| self.system.boot_id())
    }
    fn now(&self) -> time::OffsetDateTime {
        self.now.unwrap_or_else(|| self.system.now())
    }
}

/// The facts for `paths`: the file `source.host_facts` names (below the root, like every
/// path) when the drop-ins name one, else the running system. Read once per command, in
/// main, and handed to whatever asks.
pub fn facts(paths: &Paths, file: Option<&str>) -> Result<Box<dyn HostFacts>> {
    Ok(match file {
        Some(file) => Box::new(Fixed::read(&paths.join(file), paths)?),
        None => Box::new(System::new(paths)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_facts_file_overrides_what_it_names_and_leaves_the_rest_to_the_system() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("facts.json");
        std::fs::write(
            &file,
            r#"{"memory_mib": 131072, "cpus": 3, "boot_id": "b-1", "interfaces": ["203.0.113.5"], "now": "2030-01-02T03:04:05Z"}"#,
        )
        .unwrap();
        let paths = Paths::new(dir.path());
        let facts = facts(&paths, Some("/facts.json")).unwrap();
        assert_eq!(facts.memory_mib(), 131072);
        assert_eq!(facts.cpus(), 3);
        assert_eq!(facts.boot_id(), "b-1");
        assert_eq!(
            facts.interfaces(),
            vec!["203.0.113.5".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(facts.now().year(), 2030);

        std::fs::write(&file, r#"{"cpus": 2}"#).unwrap();
        let facts = super::facts(&paths, Some("/facts.json")).unwrap();
        assert_eq!(facts.cpus(), 2);
        // Not in the file: below a fixture root there is no boot id.
        assert_eq!(facts.boot_id(), "");

        std::fs::write(&file, r#"{"memory": 2}"#).unwrap();
        let err = super::facts(&paths, Some("/facts.json"))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("host facts file") && err.contains("memory"),
            "{err}"
        );
    }
}
