//! Temporary files of killed runs in the tls folder. An atomic write (see
//! [`crate::fsutil::write_atomic`]) leaves `.NAME.tmp-PID` behind when the run is killed
//! between creating and renaming it, and one of them is a copy of the private key: the tls
//! step removes them before it writes anything.

use anyhow::{Context, Result};
use std::fs;
use std::path::{Path, PathBuf};

/// Removes every `.NAME.tmp-PID` in `dir` and in its version folders whose PID is not a
/// running meet-agent other than this process (under the run lock no other run writes
/// here, and a PID reused after a reboot may well be our own). Returns what it removed.
pub fn remove_temporary_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    if let Ok(entries) = fs::read_dir(dir) {
        folders.extend(
            entries
                .filter_map(|e| e.ok())
                // file_type() does not follow links: `live` is visited as its target.
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path()),
        );
    }
    for folder in folders {
        let Ok(entries) = fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.filter_map(|e| e.ok()) {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(temporary_pid) else {
                continue;
            };
            if another_agent_runs(pid) {
                continue;
            }
            let path = entry.path();
            fs::remove_file(&path)
                .with_context(|| format!("failed to remove the stale file {}", path.display()))?;
            removed.push(path);
        }
    }
    Ok(removed)
}

/// The PID of a temporary file's name (`.NAME.tmp-PID`), or `None` for any other name.
fn temporary_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?;
    let (stem, pid) = rest.rsplit_once(".tmp-")?;
    if stem.is_empty() || pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Whether `pid` is a running meet-agent other than this process.
fn another_agent_runs(pid: u32) -> bool {
    if pid == std::process::id() {
        return false;
    }
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .is_ok_and(|comm| comm.trim_end() == "meet-agent")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_are_recognised() {
        assert_eq!(temporary_pid(".privkey.pem.tmp-1234"), Some(1234));
        assert_eq!(temporary_pid(".live.tmp-7"), Some(7));
        assert_eq!(temporary_pid("privkey.pem.tmp-1234"), None);
        assert_eq!(temporary_pid(".privkey.pem.tmp-"), None);
        assert_eq!(temporary_pid(".privkey.pem.tmp-12x"), None);
        assert_eq!(temporary_pid(".tmp-12"), None);
    }

    #[test]
    fn stale_files_go_and_others_stay() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        fs::create_dir(dir.join("v-1")).unwrap();
        let ours = format!(".privkey.pem.tmp-{}", std::process::id());
        for name in [".fullchain.pem.tmp-4194303", ours.as_str(), "notes.txt"] {
            fs::write(dir.join(name), "x").unwrap();
        }
        fs::write(dir.join("v-1/.privkey.pem.tmp-1"), "x").unwrap();
        let mut removed = remove_temporary_files(dir).unwrap();
        removed.sort();
        let mut expected = vec![
            dir.join(".fullchain.pem.tmp-4194303"),
            dir.join(ours),
            dir.join("v-1/.privkey.pem.tmp-1"),
        ];
        expected.sort();
        assert_eq!(removed, expected);
        assert!(dir.join("notes.txt").exists());
    }
}
