//! The recordings folder: where finished recordings are placed, found and pruned.
//!
//! jibri writes each recording session into a folder of its own (the video and a
//! `metadata.json` naming the meeting's URL) and then runs its finalize script on that
//! folder; `meet-agent recording finalize DIR` moves the videos to `<room>/<time>.mp4`
//! here (a rename on the same file system: no copy, no second disk's worth of space), and
//! rewrites the [`QUEUED`] stamp so that meet-agent-recording-upload.path starts the upload
//! in a process of its own (jibri stays busy until its finalize script exits).
//!
//! Whoever deletes from the folder (an upload round, pruning) holds [`lock`] first.

use crate::paths::Paths;
use anyhow::{anyhow, Context, Result};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Where recordings are kept.
pub const RECORDINGS: &str = "/var/lib/ryo-jitsi/recordings";
/// The stamp `recording finalize` rewrites after placing a recording; the upload's path
/// unit watches it (`PathChanged=`). Its content only has to differ each time.
pub const QUEUED: &str = "/var/lib/ryo-jitsi/recordings/.queued";
/// The lock an upload round or pruning holds while it reads and deletes recordings.
pub const LOCK: &str = "/var/lib/meet-agent/recording.lock";
/// The largest `metadata.json` read.
const METADATA_LIMIT: u64 = 1 << 20;
/// The longest room name kept in a path.
const ROOM_MAX: usize = 100;

/// A recording on disk.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Recording {
    /// `<room>/<time>.mp4`, relative to [`RECORDINGS`].
    pub relative: String,
    /// Its full path.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// When it was last written, seconds since the epoch.
    pub modified: u64,
}

/// The room's folder name from the meeting URL's last path segment: lower-case letters,
/// digits, `.`, `-` and `_` kept, everything else `_`; never empty or a dot name.
pub fn room_folder(meeting_url: &str) -> String {
    let last = meeting_url
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let last = last.split(['?', '#']).next().unwrap_or_default();
    let name: String = last
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(ROOM_MAX)
        .collect();
    if name.trim_matches('.').is_empty() {
        "unknown-room".into()
    } else {
        name
    }
}

/// The file name for a recording finished at `when`: `2026-12-04T19-12-55Z.mp4` (no `:`,
/// which some file systems and tools refuse).
pub fn time_name(when: SystemTime) -> String {
    let t = time::OffsetDateTime::from(when);
    format!(
        "{:04}-{:02}-{:02}T{:02}-{:02}-{:02}Z.mp4",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Moves the videos (`*.mp4`) of jibri's session folder `dir` to `<room>/<time>.mp4`
/// below the recordings folder; returns what was placed. The room comes from the folder's
/// `metadata.json` (`meeting_url`); a name already taken gets `-2`, `-3` ... A symlink or
/// anything but a regular file is refused, never followed.
pub fn place(paths: &Paths, dir: &Path) -> Result<Vec<Recording>> {
    let meta = dir.join("metadata.json");
    let url = match crate::fsutil::read_regular(&meta, METADATA_LIMIT) {
        Ok(bytes) => serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.get("meeting_url")?.as_str().map(str::to_string))
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    let room = room_folder(&url);
    let target = paths.join(RECORDINGS).join(&room);
    std::fs::create_dir_all(&target)
        .with_context(|| format!("cannot make {}", target.display()))?;
    let mut placed = Vec::new();
    for video in videos(dir)? {
        let meta = std::fs::symlink_metadata(&video)?;
        let modified = meta.modified().unwrap_or_else(|_| SystemTime::now());
        let name = free_name(&target, &time_name(modified));
        let to = target.join(&name);
        std::fs::rename(&video, &to).with_context(|| {
            format!(
                "cannot move {} to {} (both must be on one file system below {RECORDINGS})",
                video.display(),
                to.display()
            )
        })?;
        crate::fsutil::sync_dir(&target)?;
        placed.push(entry(&to, format!("{room}/{name}"))?);
    }
    Ok(placed)
}

/// Signals that `placed` wait for their upload: rewrites the [`QUEUED`] stamp atomically
/// (a rename over it, which the upload's path unit sees as a change) with when and what, so
/// that it differs from the last one. Needs nothing but write access to the recordings
/// folder: jibri's user runs it.
pub fn queue(paths: &Paths, placed: &[Recording], now: SystemTime) -> Result<()> {
    let nanos = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut text = format!("queued at {nanos} by pid {}:", std::process::id());
    for r in placed {
        text.push(' ');
        text.push_str(&r.relative);
    }
    text.push('\n');
    let stamp = paths.join(QUEUED);
    crate::fsutil::write_atomic(&stamp, text.as_bytes(), 0o644).with_context(|| {
        format!(
            "placed, but cannot signal the upload through {}; meet-agent-recording-upload.timer uploads it within 15 minutes",
            stamp.display()
        )
    })?;
    Ok(())
}

/// Takes the recordings' [`LOCK`], waiting (and saying so) while another upload round or
/// pruning holds it, so that two rounds never send or delete the same file at once.
pub fn lock(paths: &Paths) -> Result<nix::fcntl::Flock<std::fs::File>> {
    use nix::fcntl::{Flock, FlockArg};
    let path = paths.join(LOCK);
    // No link followed, nothing but a regular file used (as the run lock).
    let file = crate::fsutil::open_lock_file(&path)?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => Ok(lock),
        Err((file, nix::errno::Errno::EWOULDBLOCK)) => {
            eprintln!(
                "meet-agent: waiting for another recording upload or prune to finish ({})",
                path.display()
            );
            Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, e)| {
                anyhow!(
                    "failed to lock {}: {e}; run the command again",
                    path.display()
                )
            })
        }
        Err((_, e)) => Err(anyhow!(
            "failed to lock {}: {e}; run the command again",
            path.display()
        )),
    }
}

/// The regular `*.mp4` files directly in `dir`, sorted; a symlink is refused by name.
fn videos(dir: &Path) -> Result<Vec<PathBuf>> {
    let meta = std::fs::symlink_metadata(dir)
        .with_context(|| format!("cannot read the recording folder {}", dir.display()))?;
    if !meta.is_dir() {
        return Err(anyhow!(
            "{} is not a folder (jibri passes its session folder)",
            dir.display()
        ));
    }
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let path = e?.path();
        if path.extension().is_none_or(|x| x != "mp4") {
            continue;
        }
        let kind = std::fs::symlink_metadata(&path)?.file_type();
        if !kind.is_file() {
            return Err(anyhow!(
                "{} is not a regular file (a symlink or special file); it is left where it is",
                path.display()
            ));
        }
        found.push(path);
    }
    found.sort();
    Ok(found)
}

/// `name`, or `stem-2.mp4`, `stem-3.mp4` ... when taken.
fn free_name(dir: &Path, name: &str) -> String {
    let stem = name.trim_end_matches(".mp4");
    let mut candidate = name.to_string();
    let mut n = 2;
    while std::fs::symlink_metadata(dir.join(&candidate)).is_ok() {
        candidate = format!("{stem}-{n}.mp4");
        n += 1;
    }
    candidate
}

fn entry(path: &Path, relative: String) -> Result<Recording> {
    let meta = std::fs::symlink_metadata(path)?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    Ok(Recording {
        relative,
        path: path.to_path_buf(),
        bytes: meta.len(),
        modified,
    })
}

/// Every recording on disk (`<room>/*.mp4`, regular files only), oldest first.
pub fn list(paths: &Paths) -> Result<Vec<Recording>> {
    let root = paths.join(RECORDINGS);
    let rooms = match std::fs::read_dir(&root) {
        Ok(rooms) => rooms,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", root.display())),
    };
    let mut all = Vec::new();
    for room in rooms {
        let room = room?;
        if !room.file_type()?.is_dir() {
            continue;
        }
        let room_name = room.file_name().to_string_lossy().into_owned();
        for file in std::fs::read_dir(room.path())? {
            let file = file?;
            let name = file.file_name().to_string_lossy().into_owned();
            if file.file_type()?.is_file() && name.ends_with(".mp4") {
                all.push(entry(&file.path(), format!("{room_name}/{name}"))?);
            }
        }
    }
    all.sort_by(|a, b| (a.modified, &a.relative).cmp(&(b.modified, &b.relative)));
    Ok(all)
}

/// Deletes recordings on disk last written more than `keep_days` days before `now`
/// (nothing when `keep_days` is 0); returns what was deleted.
pub fn prune(paths: &Paths, keep_days: u32, now: SystemTime) -> Result<Vec<Recording>> {
    if keep_days == 0 {
        return Ok(Vec::new());
    }
    let now = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let limit = now.saturating_sub(u64::from(keep_days) * 86_400);
    let mut gone = Vec::new();
    for recording in list(paths)? {
        if recording.modified < limit {
            std::fs::remove_file(&recording.path)
                .with_context(|| format!("cannot delete {}", recording.path.display()))?;
            gone.push(recording);
        }
    }
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_folders_are_safe_names() {
        assert_eq!(
            room_folder("https://meet.example.org/WeeklySync"),
            "weeklysync"
        );
        assert_eq!(room_folder("https://meet.example.org/a b/../x?jwt=1"), "x");
        assert_eq!(room_folder("https://meet.example.org/.."), "unknown-room");
        assert_eq!(room_folder(""), "unknown-room");
        assert_eq!(room_folder("https://m/Ünïcode✓"), "_n_code_");
        assert_eq!(
            room_folder(&format!("https://m/{}", "a".repeat(500))).len(),
            ROOM_MAX
        );
    }

    #[test]
    fn each_queue_rewrites_the_stamp_and_a_link_there_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path());
        let stamp = paths.join(QUEUED);
        std::fs::create_dir_all(stamp.parent().unwrap()).unwrap();
        let elsewhere = dir.path().join("elsewhere");
        std::fs::write(&elsewhere, "untouched").unwrap();
        std::os::unix::fs::symlink(&elsewhere, &stamp).unwrap();
        let placed = |relative: &str| Recording {
            relative: relative.into(),
            path: PathBuf::new(),
            bytes: 1,
            modified: 0,
        };
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_796_411_575);
        queue(&paths, &[placed("a/1.mp4")], t).unwrap();
        let first = std::fs::read_to_string(&stamp).unwrap();
        assert!(first.contains(" a/1.mp4\n"), "{first}");
        assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "untouched");
        assert!(std::fs::symlink_metadata(&stamp).unwrap().is_file());
        // The same recording again a moment later: still a change the path unit sees.
        queue(
            &paths,
            &[placed("a/1.mp4")],
            t + std::time::Duration::from_nanos(1),
        )
        .unwrap();
        assert_ne!(std::fs::read_to_string(&stamp).unwrap(), first);
        // The stamp is a file in the recordings folder, not a recording.
        assert!(list(&paths).unwrap().is_empty());
    }

    #[test]
    fn time_names_have_no_colons() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_796_411_575);
        assert_eq!(time_name(t), "2026-12-04T19-12-55Z.mp4");
    }
}
