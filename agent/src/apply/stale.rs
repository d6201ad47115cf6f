//! Removing the temporary files of killed runs from every folder the agent writes.

use crate::fsutil;
use crate::paths::Paths;
use std::path::PathBuf;

/// The folders the agent writes, with how many levels of subfolders to look into as well.
/// Whole trees the agent owns are searched a few levels deep; shared system folders only
/// where the agent puts its files.
const FOLDERS: [(&str, u32); 15] = [
    ("/etc/meet-agent", 3),
    ("/var/lib/meet-agent", 3),
    // prosody's storage: HOST/accounts and HOST/roster.
    (crate::paths::PROSODY_DATA, 2),
    ("/etc/jitsi", 2),
    ("/etc/prosody", 1),
    ("/etc/nginx/sites-available", 0),
    ("/etc/nginx/modules-enabled", 0),
    // The unit files and their drop-in folders (timers, limits).
    ("/etc/systemd/system", 1),
    ("/etc/sysctl.d", 0),
    ("/etc/ssh", 1),
    ("/etc/issue.d", 0),
    ("/etc/apt/apt.conf.d", 0),
    // /etc/turnserver.conf and /etc/machine-id.
    ("/etc", 0),
    ("/run/meet-agent", 1),
    ("/var/lib/apt/periodic", 0),
];

/// Removes the `.NAME.tmp-PID` files that runs killed mid-write left (a copy of the private
/// key among them) in the agent's folders below `paths`' root. Call it early in a run,
/// under the run lock, before anything is written. Returns what was removed.
pub fn remove_stale_temporaries(paths: &Paths) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    for (folder, depth) in FOLDERS {
        removed.extend(fsutil::remove_stale_temporaries(&paths.join(folder), depth));
    }
    for path in &removed {
        tracing::info!("removed {}, left by a run that was killed", path.display());
    }
    removed
}
