//! Writing into a folder another user can change (prosody's storage) without following a
//! link that user planted: every folder below the trusted root is opened relative to its
//! parent's descriptor with O_NOFOLLOW, the temporary file is created with O_EXCL and
//! O_NOFOLLOW, owner and mode are set on the descriptor, and the rename happens within
//! the folder's descriptor. Root thus never writes, truncates or re-owns a file outside.
//!
//! A link in place of a folder is refused with an error naming it (following it would
//! write elsewhere; replacing it would silently discard whatever the link pointed at). A
//! link at the temporary or final name is replaced as a name: unlinkat and renameat act on
//! the link itself, never on its target, so that prosody keeps getting its accounts.

use anyhow::{anyhow, bail, Context as _, Result};
use nix::errno::Errno;
use nix::fcntl::{openat, renameat, OFlag};
use nix::sys::stat::{fchmod, fstat, mkdirat, Mode, SFlag};
use nix::unistd::{fchown, fsync, unlinkat, Gid, Uid, UnlinkatFlags};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Who owns the folders and the file (prosody reads and rewrites them as its own user).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// The owning user.
    pub uid: Uid,
    /// The owning group.
    pub gid: Gid,
}

impl Owner {
    /// The system user `name` and its primary group, if that user exists here.
    pub fn user(name: &str) -> Option<Owner> {
        nix::unistd::User::from_name(name)
            .ok()
            .flatten()
            .map(|u| Owner {
                uid: u.uid,
                gid: u.gid,
            })
    }
}

/// Writes `contents` to `root/FOLDER/.../name` (`folders` one name each) with `mode`,
/// giving `root`, the folders and the file to `owner` when given. `root` itself is trusted
/// (its parent is root's); nothing below it is. Returns whether the file changed.
pub fn write_beneath(
    root: &Path,
    folders: &[&str],
    name: &str,
    contents: &[u8],
    mode: u32,
    owner: Option<Owner>,
) -> Result<bool> {
    let mut shown: PathBuf = root.to_path_buf();
    std::fs::create_dir_all(root)
        .with_context(|| format!("failed to create folder {}", root.display()))?;
    let mut dir = nix::fcntl::open(
        root,
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| anyhow!("failed to open folder {}: {e}", root.display()))?;
    give(&dir, owner, None, &shown)?;
    for folder in folders {
        shown.push(folder);
        dir = open_folder(&dir, folder, &shown)?;
        give(&dir, owner, None, &shown)?;
    }
    let file = shown.join(name);
    if is_current(&dir, name, contents, mode, owner) {
        return Ok(false);
    }
    let tmp = crate::fsutil::temporary_name(name);
    let fd = create_temporary(&dir, &tmp, mode, &shown.join(&tmp))?;
    let written = (|| -> Result<()> {
        give(&fd, owner, Some(mode), &file)?;
        let mut handle = File::from(fd);
        handle.write_all(contents)?;
        handle.sync_all()?;
        renameat(&dir, tmp.as_str(), &dir, name)?;
        fsync(&dir)?;
        Ok(())
    })();
    if written.is_err() {
        let _ = unlinkat(&dir, tmp.as_str(), UnlinkatFlags::NoRemoveDir);
    }
    written.with_context(|| format!("failed to write {}", file.display()))?;
    Ok(true)
}

/// Opens (creating it if absent) the folder `name` in `parent`, refusing a link.
fn open_folder(parent: &OwnedFd, name: &str, shown: &Path) -> Result<OwnedFd> {
    match mkdirat(parent, name, Mode::from_bits_truncate(0o755)) {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(e) => bail!("failed to create folder {}: {e}", shown.display()),
    }
    openat(
        parent,
        name,
        OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| match e {
        Errno::ELOOP | Errno::ENOTDIR => anyhow!(
            "refused to write below {}: it is a symbolic link or not a folder, in a folder another user can change; remove it",
            shown.display()
        ),
        e => anyhow!("failed to open folder {}: {e}", shown.display()),
    })
}

/// Sets owner (and `mode`, when given) on an open descriptor, never on a path.
fn give(fd: &OwnedFd, owner: Option<Owner>, mode: Option<u32>, shown: &Path) -> Result<()> {
    if let Some(owner) = owner {
        fchown(fd.as_fd(), Some(owner.uid), Some(owner.gid))
            .map_err(|e| anyhow!("failed to give {} to its owner: {e}", shown.display()))?;
    }
    if let Some(mode) = mode {
        // Set exactly: the umask narrowed the mode given to open(2).
        fchmod(fd.as_fd(), Mode::from_bits_truncate(mode))
            .map_err(|e| anyhow!("failed to set the mode of {}: {e}", shown.display()))?;
    }
    Ok(())
}

/// Whether `name` in `dir` is a regular file (not a link) holding `contents` with `mode`
/// and `owner`.
fn is_current(dir: &OwnedFd, name: &str, contents: &[u8], mode: u32, owner: Option<Owner>) -> bool {
    let Ok(fd) = openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) else {
        return false;
    };
    let Ok(stat) = fstat(&fd) else {
        return false;
    };
    let regular = SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFREG;
    if !regular
        || stat.st_mode & 0o7777 != mode
        || stat.st_size as u64 != contents.len() as u64
        || owner.is_some_and(|o| stat.st_uid != o.uid.as_raw() || stat.st_gid != o.gid.as_raw())
    {
        return false;
    }
    let mut old = Vec::with_capacity(contents.len());
    File::from(fd)
        .take(contents.len() as u64 + 1)
        .read_to_end(&mut old)
        .is_ok_and(|_| old == contents)
}

/// Creates the temporary `tmp` in `dir` afresh; whatever was at that name (a link, a killed
/// run's file) is unlinked as a name first.
fn create_temporary(dir: &OwnedFd, tmp: &str, mode: u32, shown: &Path) -> Result<OwnedFd> {
    let create = || {
        openat(
            dir,
            tmp,
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(mode),
        )
    };
    match create() {
        Err(Errno::EEXIST) => {
            unlinkat(dir, tmp, UnlinkatFlags::NoRemoveDir)
                .map_err(|e| anyhow!("failed to remove what was at {}: {e}", shown.display()))?;
            create()
        }
        other => other,
    }
    .map_err(|e| anyhow!("failed to create {}: {e}", shown.display()))
}
