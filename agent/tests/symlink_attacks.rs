//! Links planted where another user can write (prosody's storage, which the prosody user
//! owns) never make the agent, running as root, write, truncate or re-own a file outside.
//! A link in place of a folder is refused with an error naming it; a link at the temporary
//! or final file name is replaced as a name (rename and unlink act on the link, not on
//! what it points at). run.lock is opened without following a link.

mod common;
use common::{text, Root};
use meet_agent::jitsi::{prosody_accounts, prosody_roster};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

const HOST: &str = "auth.meet.example.test";
const HOST_DIR: &str = "auth%2emeet%2eexample%2etest";

/// A root-owned 0600 file outside prosody's storage: what an attacker wants overwritten.
struct Victim {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Victim {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("focus.dat");
        std::fs::write(&path, "root's secret").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        Self { _dir: dir, path }
    }

    fn folder(&self) -> &Path {
        self.path.parent().unwrap()
    }

    fn assert_untouched(&self) {
        let meta = std::fs::symlink_metadata(&self.path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&self.path).unwrap(),
            "root's secret"
        );
        assert_eq!((meta.uid(), meta.gid()), (0, 0), "owner unchanged");
        assert_eq!(meta.mode() & 0o7777, 0o600, "mode unchanged");
        let names: Vec<_> = std::fs::read_dir(self.folder())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "nothing created beside it: {names:?}");
    }
}

fn prosody_ids() -> Option<(u32, u32)> {
    nix::unistd::User::from_name("prosody")
        .ok()
        .flatten()
        .map(|u| (u.uid.as_raw(), u.gid.as_raw()))
}

fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

#[test]
fn an_accounts_folder_linked_elsewhere_is_refused_with_its_path() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let victim = Victim::new();
    std::fs::create_dir_all(data.path().join(HOST_DIR)).unwrap();
    let link = data.path().join(HOST_DIR).join("accounts");
    symlink(victim.folder(), &link).unwrap();

    let err = prosody_accounts::write(data.path(), HOST, "focus", "pw").unwrap_err();
    let line = format!("{err:#}");
    assert!(!line.contains('\n'), "one line: {line}");
    assert!(
        line.contains(&link.display().to_string()) && line.contains("symbolic link"),
        "{line}"
    );
    victim.assert_untouched();
    assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
}

#[test]
fn a_roster_folder_linked_elsewhere_is_refused_with_its_path() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let victim = Victim::new();
    std::fs::create_dir_all(data.path().join(HOST_DIR)).unwrap();
    let link = data.path().join(HOST_DIR).join("roster");
    symlink(victim.folder(), &link).unwrap();

    let err =
        prosody_roster::write(data.path(), HOST, "focus", "focus.meet.example.test").unwrap_err();
    assert!(
        format!("{err:#}").contains(&link.display().to_string()),
        "{err:#}"
    );
    victim.assert_untouched();
}

#[test]
fn a_link_at_the_temporary_name_is_replaced_not_followed() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let victim = Victim::new();
    let accounts = data.path().join(HOST_DIR).join("accounts");
    std::fs::create_dir_all(&accounts).unwrap();
    // The name the agent's next write will use: `.focus.dat.tmp-PID` (this process).
    let tmp = accounts.join(format!(".focus.dat.tmp-{}", std::process::id()));
    symlink(&victim.path, &tmp).unwrap();

    prosody_accounts::write(data.path(), HOST, "focus", "pw").unwrap();
    victim.assert_untouched();
    let file = accounts.join("focus.dat");
    let meta = std::fs::symlink_metadata(&file).unwrap();
    assert!(meta.file_type().is_file(), "a regular file, not the link");
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("stored_key"));
    assert_eq!(meta.mode() & 0o7777, 0o640);
    if let Some(ids) = prosody_ids() {
        assert_eq!((meta.uid(), meta.gid()), ids, "prosody's own file");
    }
    assert!(tmp.symlink_metadata().is_err(), "no temporary left");
}

#[test]
fn a_link_at_the_final_name_is_replaced_not_followed() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let victim = Victim::new();
    for folder in ["accounts", "roster"] {
        let dir = data.path().join(HOST_DIR).join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        symlink(&victim.path, dir.join("focus.dat")).unwrap();
    }
    prosody_accounts::write(data.path(), HOST, "focus", "pw").unwrap();
    assert!(prosody_roster::write(data.path(), HOST, "focus", "focus.meet.example.test").unwrap());
    victim.assert_untouched();
    for folder in ["accounts", "roster"] {
        let file = data.path().join(HOST_DIR).join(folder).join("focus.dat");
        assert!(std::fs::symlink_metadata(&file)
            .unwrap()
            .file_type()
            .is_file());
    }
}

#[test]
fn a_run_lock_linked_elsewhere_is_refused_and_nothing_is_created_there() {
    let root = Root::new();
    root.config(
        "00.toml",
        "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\n",
    );
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("created-by-root");
    let lock = root.join("/var/lib/meet-agent/run.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    symlink(&target, &lock).unwrap();

    let out = root.run(&["run", "--step", "identity"]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.contains("run.lock"))
        .unwrap_or_else(|| panic!("{}", text(&out)));
    assert!(line.contains("symbolic link"), "{line}");
    assert!(!target.exists(), "no file created through the link");
}
