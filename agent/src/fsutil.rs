//! Atomic, idempotent file writes.

use anyhow::{Context, Result};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Writes `contents` to `path` with `mode`, atomically: a temporary file in the same
/// directory is written, fsynced and renamed over the target, then the directory is fsynced.
///
/// Returns `false` and touches nothing when the file already holds exactly these bytes with
/// this mode, so reruns with unchanged input change no file.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<bool> {
    write_atomic_owned(path, contents, mode, None)
}

/// As [`write_atomic`], for a file a service account reads: group `group` with `mode`
/// when that group exists on this system, else root's alone (`0600`).
pub fn write_atomic_for_group(
    path: &Path,
    contents: &[u8],
    mode: u32,
    group: &str,
) -> Result<bool> {
    match nix::unistd::Group::from_name(group).ok().flatten() {
        Some(g) => write_atomic_owned(path, contents, mode, Some(g.gid.as_raw())),
        None => write_atomic_owned(path, contents, 0o600, None),
    }
}

fn write_atomic_owned(path: &Path, contents: &[u8], mode: u32, gid: Option<u32>) -> Result<bool> {
    if let Ok(meta) = fs::metadata(path) {
        use std::os::unix::fs::MetadataExt;
        if meta.permissions().mode() & 0o7777 == mode
            && gid.is_none_or(|g| meta.gid() == g)
            && meta.len() == contents.len() as u64
            && fs::read(path).is_ok_and(|old| old == contents)
        {
            return Ok(false);
        }
    }
    let dir = path
        .parent()
        .with_context(|| format!("cannot write {}: it has no parent folder", path.display()))?;
    fs::create_dir_all(dir)
        .with_context(|| format!("failed to create folder {}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)
            .with_context(|| format!("failed to create {}", tmp.display()))?;
        if let Some(gid) = gid {
            std::os::unix::fs::fchown(&file, None, Some(gid))
                .with_context(|| format!("failed to give {} to group {gid}", tmp.display()))?;
        }
        // The umask may have narrowed the mode given to open(2); set it exactly.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
            .with_context(|| format!("failed to rename {} to {}", tmp.display(), path.display()))?;
        File::open(dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("failed to write {}", path.display()))?;
    Ok(true)
}

/// Reads a file that may legitimately be absent: `Ok(None)` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("failed to read {}", path.display())),
    }
}

/// A JSON file the agent wrote, parsed; `None` when it is missing or unreadable (the
/// callers show state, and a missing or foreign file just means there is none to show).
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    let bytes = fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn unchanged_content_is_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/file");
        assert!(write_atomic(&path, b"one", 0o600).unwrap());
        let ino = fs::metadata(&path).unwrap().ino();
        assert!(!write_atomic(&path, b"one", 0o600).unwrap());
        assert_eq!(fs::metadata(&path).unwrap().ino(), ino);
        assert!(write_atomic(&path, b"two", 0o600).unwrap());
        assert_ne!(fs::metadata(&path).unwrap().ino(), ino);
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // A mode change alone is a change.
        assert!(write_atomic(&path, b"two", 0o644).unwrap());
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o644
        );
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }
}
