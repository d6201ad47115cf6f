//! Atomic, idempotent file writes.

use anyhow::{Context, Result};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Writes `contents` to `path` with `mode`, atomically: a temporary file in the same
/// directory is written, fsynced and renamed over the target, then the directory is fsynced.
///
/// Returns `false` and touches nothing when the file already holds exactly these bytes with
/// this mode, so reruns with unchanged input change no file.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<bool> {
    write_atomic_owned(path, contents, mode, (None, None))
}

/// As [`write_atomic`], for a file one service account alone reads: owned by `user` (and
/// its primary group), mode 0600, when that user exists on this system, else root's.
pub fn write_atomic_for_user(path: &Path, contents: &[u8], user: &str) -> Result<bool> {
    write_atomic_owned(path, contents, 0o600, user_ids(user))
}

/// As [`is_current`], for what [`write_atomic_for_user`] would leave unchanged.
pub fn is_current_for_user(path: &Path, contents: &[u8], user: &str) -> bool {
    current(path, contents, 0o600, user_ids(user))
}

/// `user`'s uid and primary gid, when the user exists.
fn user_ids(user: &str) -> (Option<u32>, Option<u32>) {
    match nix::unistd::User::from_name(user).ok().flatten() {
        Some(u) => (Some(u.uid.as_raw()), Some(u.gid.as_raw())),
        None => (None, None),
    }
}

/// As [`write_atomic`], for a file a service account reads: group `group` with `mode`
/// when that group exists on this system, else root's alone (`0600`).
pub fn write_atomic_for_group(
    path: &Path,
    contents: &[u8],
    mode: u32,
    group: &str,
) -> Result<bool> {
    let (mode, gid) = group_mode(mode, group);
    write_atomic_owned(path, contents, mode, (None, gid))
}

/// Whether `path` already holds exactly `contents` with `mode` (what [`write_atomic`] would
/// leave unchanged), so that callers can record what a write will change before making it.
pub fn is_current(path: &Path, contents: &[u8], mode: u32) -> bool {
    current(path, contents, mode, (None, None))
}

/// As [`is_current`], for what [`write_atomic_for_group`] would leave unchanged.
pub fn is_current_for_group(path: &Path, contents: &[u8], mode: u32, group: &str) -> bool {
    let (mode, gid) = group_mode(mode, group);
    current(path, contents, mode, (None, gid))
}

/// The mode and group a file for `group` gets: `mode` for that group when it exists on
/// this system, else root's alone (`0600`).
fn group_mode(mode: u32, group: &str) -> (u32, Option<u32>) {
    match nix::unistd::Group::from_name(group).ok().flatten() {
        Some(g) => (mode, Some(g.gid.as_raw())),
        None => (0o600, None),
    }
}

fn current(
    path: &Path,
    contents: &[u8],
    mode: u32,
    (uid, gid): (Option<u32>, Option<u32>),
) -> bool {
    use std::os::unix::fs::MetadataExt;
    // symlink_metadata: a link in place of the file is never "current" (rename replaces
    // the link itself, not what it points at).
    fs::symlink_metadata(path).is_ok_and(|meta| {
        meta.file_type().is_file()
            && meta.permissions().mode() & 0o7777 == mode
            && gid.is_none_or(|g| meta.gid() == g)
            && uid.is_none_or(|u| meta.uid() == u)
            && meta.len() == contents.len() as u64
            && fs::read(path).is_ok_and(|old| old == contents)
    })
}

/// The one writer: `owner` is (uid, gid), each given to the file when set.
fn write_atomic_owned(
    path: &Path,
    contents: &[u8],
    mode: u32,
    owner: (Option<u32>, Option<u32>),
) -> Result<bool> {
    let (uid, gid) = owner;
    if current(path, contents, mode, owner) {
        return Ok(false);
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
    let tmp = dir.join(temporary_name(&name));
    let result = (|| -> Result<()> {
        let mut file = create_temporary(&tmp, mode)?;
        if uid.is_some() || gid.is_some() {
            std::os::unix::fs::fchown(&file, uid, gid)
                .with_context(|| format!("failed to give {} to {uid:?}:{gid:?}", tmp.display()))?;
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

/// Makes the entries of `dir` (a rename into it, a removal) durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync the folder {}", dir.display()))
}

/// The temporary name [`write_atomic`] writes `name` under: `.NAME.tmp-PID`, so that a
/// later run can tell a killed run's leftover (see [`remove_stale_temporaries`]).
pub fn temporary_name(name: &str) -> String {
    format!(".{name}.tmp-{}", std::process::id())
}

/// Creates `tmp` afresh (O_EXCL, O_NOFOLLOW): whatever is at that name (a killed run's
/// leftover with our pid, or a planted link) is removed, never opened or followed.
fn create_temporary(tmp: &Path, mode: u32) -> Result<File> {
    let open = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
            .open(tmp)
    };
    match open() {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            fs::remove_file(tmp).with_context(|| {
                format!(
                    "failed to remove the leftover temporary file {}",
                    tmp.display()
                )
            })?;
            open()
        }
        other => other,
    }
    .with_context(|| format!("failed to create {}", tmp.display()))
}

/// Removes the temporary files killed runs left in `dir` and, down to `depth` more levels,
/// in its subfolders: names `.NAME.tmp-PID` whose process is gone (or is this process,
/// which has written nothing yet when this runs). Links are removed, never followed.
/// Returns the paths removed; a folder that cannot be read is skipped.
pub fn remove_stale_temporaries(dir: &Path, depth: u32) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return removed;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_dir() {
            if depth > 0 {
                removed.extend(remove_stale_temporaries(&path, depth - 1));
            }
            continue;
        }
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temporary_pid) else {
            continue;
        };
        if !process_alive(pid) && fs::remove_file(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

/// The pid in a temporary name `.NAME.tmp-PID`, if `name` is one.
fn temporary_pid(name: &str) -> Option<i32> {
    let rest = name.strip_prefix('.')?;
    let (file, pid) = rest.rsplit_once(".tmp-")?;
    if file.is_empty() || pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok().filter(|p| *p > 0)
}

/// Whether `pid` is another process that still runs (EPERM: it runs as another user).
fn process_alive(pid: i32) -> bool {
    if pid as u32 == std::process::id() {
        return false;
    }
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(e) => e != nix::errno::Errno::ESRCH,
    }
}

/// A lock file that is not one: something other than a regular file sits at the lock's
/// path (a symbolic link, a folder, a FIFO). meet-agent never makes such a thing, so it was
/// planted or left by hand; the caller reports it as an expected failure (exit 1), since
/// removing it is all it takes.
#[derive(Debug, thiserror::Error)]
#[error("refused to use the lock {}: it is {}, which meet-agent never makes there; remove it (`rm {}`, or `rm -r` for a folder) and run the command again", .path.display(), .what, .path.display())]
pub struct LockRefused {
    /// The lock's path.
    pub path: PathBuf,
    /// What is there instead (`a symbolic link`, `a FIFO`).
    pub what: &'static str,
}

/// Opens (creating, mode 0600) the lock file at `path` without following a link, and
/// refuses anything but a regular file with [`LockRefused`], so that a link planted there
/// never makes root create or lock a file elsewhere, and a FIFO never blocks the open.
pub fn open_lock_file(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)
            .with_context(|| format!("failed to create folder {}", dir.display()))?;
    }
    let refused = |what| LockRefused {
        path: path.to_path_buf(),
        what,
    };
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags((nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_NONBLOCK).bits())
        .open(path)
        .map_err(|e| {
            // ELOOP (a link), EISDIR (a folder), ENXIO (a FIFO nobody reads): whatever sits
            // there is named by what lstat sees, not by the errno.
            match fs::symlink_metadata(path) {
                Ok(meta) if !meta.file_type().is_file() => {
                    anyhow::Error::new(refused(kind_name(&meta.file_type())))
                }
                _ => anyhow::anyhow!("failed to open the lock {}: {e}", path.display()),
            }
        })?;
    let meta = file
        .metadata()
        .with_context(|| format!("failed to inspect the lock {}", path.display()))?;
    if !meta.file_type().is_file() {
        return Err(refused(kind_name(&meta.file_type())).into());
    }
    Ok(file)
}

/// Opens the existing lock file at `path` for reading, as [`open_lock_file`] does (no link
/// followed, no blocking on a FIFO, nothing but a regular file), without creating it:
/// `Ok(None)` when there is none.
pub fn open_existing_lock_file(path: &Path) -> Result<Option<File>> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(
            (nix::fcntl::OFlag::O_NOFOLLOW
                | nix::fcntl::OFlag::O_NONBLOCK
                | nix::fcntl::OFlag::O_NOCTTY)
                .bits(),
        )
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(match fs::symlink_metadata(path) {
                Ok(meta) if !meta.file_type().is_file() => LockRefused {
                    path: path.to_path_buf(),
                    what: kind_name(&meta.file_type()),
                }
                .into(),
                _ => anyhow::anyhow!("failed to open the lock {}: {e}", path.display()),
            })
        }
    };
    let kind = file
        .metadata()
        .with_context(|| format!("failed to inspect the lock {}", path.display()))?
        .file_type();
    if !kind.is_file() {
        return Err(LockRefused {
            path: path.to_path_buf(),
            what: kind_name(&kind),
        }
        .into());
    }
    Ok(Some(file))
}

/// What a file type is, in words (`a symbolic link`, `a FIFO`).
fn kind_name(kind: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_dir() {
        "a folder"
    } else if kind.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// Largest configuration file (drop-in or instance data) the agent reads: 1 MiB.
pub const CONFIG_LIMIT: u64 = 1 << 20;

/// Why a file was not read (see [`read_regular`]).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The path does not exist.
    #[error("{} does not exist", .0.display())]
    NotFound(PathBuf),
    /// The path is a FIFO, device, socket or folder.
    #[error("refused to read {}: it is {}, not a regular file; replace it with a regular file", .0.display(), .1)]
    NotRegular(PathBuf, &'static str),
    /// The file is larger than the limit.
    #[error("refused to read {}: it is larger than {} bytes (the limit for this file); make it smaller", .0.display(), .1)]
    TooLarge(PathBuf, u64),
    /// Opening or reading failed.
    #[error("failed to read {}: {}", .0.display(), .1)]
    Io(PathBuf, std::io::Error),
}

/// Reads `path` whole, but only if it is a regular file of at most `limit` bytes.
///
/// The file is opened without blocking (a FIFO or a device would otherwise block or never
/// end) and checked with fstat before anything is read; at most `limit` + 1 bytes are read
/// whatever the file claims its size is. Symbolic links are followed.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    use std::os::unix::fs::FileTypeExt;
    let io = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ReadError::NotFound(path.to_path_buf())
        } else {
            ReadError::Io(path.to_path_buf(), e)
        }
    };
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc_flags())
        .open(path)
        .map_err(io)?;
    let kind = file.metadata().map_err(io)?.file_type();
    let what = if kind.is_file() {
        None
    } else if kind.is_fifo() {
        Some("a FIFO")
    } else if kind.is_char_device() {
        Some("a character device")
    } else if kind.is_block_device() {
        Some("a block device")
    } else if kind.is_socket() {
        Some("a socket")
    } else if kind.is_dir() {
        Some("a folder")
    } else {
        Some("not a regular file")
    };
    if let Some(what) = what {
        return Err(ReadError::NotRegular(path.to_path_buf(), what));
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge(path.to_path_buf(), limit));
    }
    Ok(bytes)
}

/// Opens `path` for reading only if it is a regular file itself: a symlink at that name is
/// refused, never followed (O_NOFOLLOW), and a FIFO or device is refused without blocking.
/// For files in folders another user owns (a recorder's videos), where the name could be
/// swapped for a link to a file only root may read between a listing and the open.
pub fn open_regular_nofollow(path: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc_flags() | nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(path)?;
    if file.metadata()?.file_type().is_file() {
        Ok(file)
    } else {
        Err(std::io::Error::other("not a regular file"))
    }
}

/// O_NONBLOCK (a FIFO without a writer must not block the open) and O_NOCTTY.
fn libc_flags() -> i32 {
    (nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_NOCTTY).bits()
}

/// As [`read_regular`], for a file that may legitimately be absent: `Ok(None)` then.
pub fn read_regular_optional(path: &Path, limit: u64) -> Result<Option<Vec<u8>>> {
    match read_regular(path, limit) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(ReadError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
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

    #[test]
    fn only_regular_files_within_the_limit_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("50-pipe.toml");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        // Without a writer a blocking open would hang forever; this must return at once.
        let err = read_regular(&fifo, 100).unwrap_err().to_string();
        assert!(
            err.contains("50-pipe.toml") && err.contains("a FIFO"),
            "{err}"
        );
        let err = read_regular(Path::new("/dev/zero"), 100)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/dev/zero") && err.contains("character device"),
            "{err}"
        );
        let err = read_regular(dir.path(), 100).unwrap_err().to_string();
        assert!(err.contains("a folder"), "{err}");
        let big = dir.path().join("big");
        fs::write(&big, vec![b'x'; 101]).unwrap();
        let err = read_regular(&big, 100).unwrap_err().to_string();
        assert!(err.contains("larger than 100 bytes"), "{err}");
        fs::write(&big, vec![b'x'; 100]).unwrap();
        assert_eq!(read_regular(&big, 100).unwrap().len(), 100);
        assert!(read_regular_optional(&dir.path().join("absent"), 1)
            .unwrap()
            .is_none());
    }

    #[test]
    fn open_regular_nofollow_refuses_links_and_fifos() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        fs::write(&file, "x").unwrap();
        assert!(open_regular_nofollow(&file).is_ok());
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(open_regular_nofollow(&link).is_err());
        let fifo = dir.path().join("p");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert!(open_regular_nofollow(&fifo).is_err());
    }
}
