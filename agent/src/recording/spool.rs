//! jibri's spool on a recorder: the recording in progress, for `meet-agent status`.
//!
//! jibri writes each session into `<spool>/<session id>/<room>_<yyyy-MM-dd-HH-mm-ss>.mp4`
//! (jitsi/jibri FileRecordingJibriService.kt and FileSink.kt at 62369d55eaf5), which
//! grows until the recording ends; then the finalize script moves it out.

use crate::paths::Paths;
use std::path::Path;
use std::time::SystemTime;

/// Where jibri writes recordings (its `recordings-directory`).
pub const SPOOL: &str = "/var/lib/ryo-jitsi/jibri";

/// The user jibri runs as (its Debian package makes it).
pub const JIBRI_USER: &str = "jibri";

/// Makes jibri's spool (jibri's own, 0750) and the recordings folder (root's, group
/// jibri, 2770: finalize runs as jibri and moves recordings in; the setgid bit keeps
/// jibri's group on the room folders, and the upload and prune, as root, read and delete
/// them). `Ok(Err(why))` when the user does not exist: jibri is not installed.
pub fn prepare(paths: &Paths, user: &str) -> anyhow::Result<Result<String, String>> {
    let Some(account) = nix::unistd::User::from_name(user).ok().flatten() else {
        return Ok(Err(format!(
            "jibri is not installed (no user {user}): this machine cannot record; jibri comes from Jitsi's package repository, which the offline image cannot reach (docs/recording.md)"
        )));
    };
    let recordings = paths.join(super::store::RECORDINGS);
    let spool = paths.join(SPOOL);
    let mut changed = Vec::new();
    for (dir, uid, mode) in [
        (&spool, Some(account.uid), 0o750),
        (&recordings, None, 0o2770),
    ] {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot make {}: {e}", dir.display()))?;
        // Its parent is root's: nobody else can have put a link here, but a link made
        // by an earlier hand is refused rather than its target changed.
        let meta = std::fs::symlink_metadata(dir)?;
        anyhow::ensure!(
            meta.is_dir(),
            "{} is not a folder (a link?); remove it and run `meet-agent run` again",
            dir.display()
        );
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let want_uid = uid.map_or(0, |u| u.as_raw());
        if meta.uid() != want_uid
            || meta.gid() != account.gid.as_raw()
            || meta.permissions().mode() & 0o7777 != mode
        {
            nix::unistd::chown(dir.as_path(), Some(want_uid.into()), Some(account.gid))?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))?;
            changed.push(dir.display().to_string());
        }
    }
    Ok(Ok(if changed.is_empty() {
        String::new()
    } else {
        format!("{} made for jibri", changed.join(" and "))
    }))
}

/// The recording jibri is writing now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InProgress {
    /// The room, from the file's name.
    pub room: String,
    /// Seconds since the session's folder was made (the recording's start).
    pub seconds: u64,
    /// The video's size so far.
    pub bytes: u64,
}

/// The newest session folder's video, if any; nothing when the spool is empty or
/// unreadable (status then shows jibri's own answer alone). Links are not followed.
pub fn in_progress(paths: &Paths, now: SystemTime) -> Option<InProgress> {
    let spool = paths.join(SPOOL);
    let mut newest: Option<(SystemTime, std::path::PathBuf)> = None;
    for entry in std::fs::read_dir(&spool).ok()?.flatten().take(1000) {
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        let Ok(made) = meta.modified() else { continue };
        if meta.is_dir() && newest.as_ref().is_none_or(|(t, _)| made > *t) {
            newest = Some((made, entry.path()));
        }
    }
    let (started, dir) = newest?;
    let (name, bytes) = video(&dir)?;
    Some(InProgress {
        room: room_of(&name),
        seconds: now.duration_since(started).map_or(0, |d| d.as_secs()),
        bytes,
    })
}

/// The first `.mp4` regular file of `dir` (jibri writes one per session): name and size.
fn video(dir: &Path) -> Option<(String, u64)> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .take(100)
        .find_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let meta = e.path().symlink_metadata().ok()?;
            (name.ends_with(".mp4") && meta.is_file()).then_some((name, meta.len()))
        })
}

/// `room` of `room_2026-12-04-19-12-55.mp4`: everything before the last `_`, made
/// printable (a room name is a meeting participant's choice).
fn room_of(name: &str) -> String {
    let stem = name.strip_suffix(".mp4").unwrap_or(name);
    let room = stem.rsplit_once('_').map_or(stem, |(room, _)| room);
    crate::printable::printable(room, 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folders_are_made_for_jibris_user_and_a_missing_user_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path());
        let why = prepare(&paths, "no-such-user-ryo").unwrap().unwrap_err();
        assert!(why.contains("jibri is not installed"), "{why}");
        if !nix::unistd::Uid::effective().is_root() {
            return; // chown needs root; tests/run runs as root
        }
        let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
        let said = prepare(&paths, "nobody").unwrap().unwrap();
        assert!(said.contains("made for jibri"), "{said}");
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let spool = std::fs::metadata(paths.join(SPOOL)).unwrap();
        assert_eq!(
            (spool.uid(), spool.permissions().mode() & 0o7777),
            (nobody.uid.as_raw(), 0o750)
        );
        let rec = std::fs::metadata(paths.join(crate::recording::store::RECORDINGS)).unwrap();
        assert_eq!(
            (rec.uid(), rec.gid(), rec.permissions().mode() & 0o7777),
            (0, nobody.gid.as_raw(), 0o2770)
        );
        assert_eq!(
            prepare(&paths, "nobody").unwrap().unwrap(),
            "",
            "nothing to change"
        );
    }

    #[test]
    fn the_newest_sessions_video_is_the_one_in_progress() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path());
        let spool = paths.join(SPOOL);
        assert_eq!(in_progress(&paths, SystemTime::now()), None, "no spool");
        let session = spool.join("abc_123");
        std::fs::create_dir_all(&session).unwrap();
        assert_eq!(in_progress(&paths, SystemTime::now()), None, "no video yet");
        std::fs::write(
            session.join("weekly_sync_2026-12-04-19-12-55.mp4"),
            [0u8; 1234],
        )
        .unwrap();
        let later = SystemTime::now() + std::time::Duration::from_secs(90);
        let got = in_progress(&paths, later).unwrap();
        assert_eq!(got.room, "weekly_sync");
        assert_eq!(got.bytes, 1234);
        assert!((89..=91).contains(&got.seconds), "{got:?}");
    }
}
