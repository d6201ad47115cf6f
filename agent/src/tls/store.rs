//! The installed pair as one unit. Each certificate/key pair, with the record of who
//! issued it, lives in its own version folder `v-N` under the tls folder, and one symlink
//! `live -> v-N` names the pair in use; the paths other services name (`fullchain.pem`,
//! `privkey.pem`, see [`crate::paths`]) are fixed symlinks into `live/`.
//!
//! Swapping `live` is one rename(2), so a run killed at any moment (or out of disk space)
//! leaves the old pair or the new one in place, never the new key beside the old
//! certificate. A version folder written but never made live is removed at the next run.

use super::material::Pair;
use crate::fsutil::{write_atomic, write_atomic_for_group};
use crate::paths::Paths;
use crate::plan::certificate::Origin;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// The group that may read the installed key (Debian's convention for TLS keys).
pub const KEY_GROUP: &str = "ssl-cert";

/// The symlink naming the version in use.
pub const LIVE: &str = "live";
/// The chain's file name, in a version folder and as the fixed path.
const CHAIN: &str = "fullchain.pem";
/// The key's file name, in a version folder and as the fixed path.
const KEY: &str = "privkey.pem";
/// Who issued the pair, in a version folder.
const ORIGIN: &str = "origin.json";
/// Version folders are `v-` and a counter.
const VERSION_PREFIX: &str = "v-";

/// The origin record: whose certificate this is, tied to the leaf it was written for (so
/// a certificate replaced by hand inside the folder is not taken for the CA's).
#[derive(Debug, Serialize, Deserialize)]
struct OriginRecord {
    /// SHA-256 of the leaf certificate's DER, hex.
    leaf_sha256: String,
    /// Who installed it.
    origin: Origin,
}

/// Installs `pair`, recorded as coming from `origin`, as a new version and makes it live in
/// one rename. Plain files from an older agent are first adopted as a version of their own
/// (so even the migration never mismatches the pair). Keeps the previous version, removes
/// older ones. Returns whether the certificate or key changed (an origin alone does not
/// need the services reloaded).
pub fn install(paths: &Paths, pair: &Pair, origin: &Origin) -> Result<bool> {
    let dir = paths.tls_dir();
    fs::create_dir_all(&dir)
        .with_context(|| format!("failed to create folder {}", dir.display()))?;
    adopt_plain_files(&dir)?;
    let chain = pair.chain_pem();
    let key = pair.key.pem();
    let record = serde_json::to_vec_pretty(&OriginRecord {
        leaf_sha256: leaf_sha256(pair),
        origin: origin.clone(),
    })?;
    let previous = live_version(&dir);
    if let Some(current) = &previous {
        let current = dir.join(current);
        let same_pair = fs::read(current.join(CHAIN)).is_ok_and(|b| b == chain.as_bytes())
            && fs::read(current.join(KEY)).is_ok_and(|b| b == key.as_bytes());
        let same_origin = fs::read(current.join(ORIGIN)).is_ok_and(|b| b == record);
        if same_pair && same_origin {
            // Same bytes: only a mode or group that drifted (the ssl-cert group appeared
            // after the install) is put right, in place, without a new version.
            write_atomic_for_group(&current.join(KEY), key.as_bytes(), 0o640, KEY_GROUP)?;
            write_atomic(&current.join(CHAIN), chain.as_bytes(), 0o644)?;
            ensure_links(&dir)?;
            return Ok(false);
        }
        if same_pair {
            // Only the record differs: a new version all the same, so the record swaps
            // with its pair; nothing that reads the pair needs a reload.
            write_version(
                &dir,
                chain.as_bytes(),
                key.as_bytes(),
                &record,
                previous.as_deref(),
            )?;
            return Ok(false);
        }
    }
    write_version(
        &dir,
        chain.as_bytes(),
        key.as_bytes(),
        &record,
        previous.as_deref(),
    )?;
    Ok(true)
}

/// Writes a new version folder, makes it live, points the fixed paths at `live/`, and
/// removes every version but the new one and `previous`.
fn write_version(
    dir: &Path,
    chain: &[u8],
    key: &[u8],
    record: &[u8],
    previous: Option<&str>,
) -> Result<()> {
    let name = next_version(dir);
    let version = dir.join(&name);
    // A folder of this name can only be a leftover of a killed run (it was never live).
    remove_version(&version)?;
    fs::DirBuilder::new()
        .mode(0o755)
        .create(&version)
        .with_context(|| format!("failed to create folder {}", version.display()))?;
    // prosody and coturn run as their own users and read the key through Debian's
    // ssl-cert group (the image adds them to it); without that group it stays root's.
    write_atomic_for_group(&version.join(KEY), key, 0o640, KEY_GROUP)?;
    write_atomic(&version.join(CHAIN), chain, 0o644)?;
    write_atomic(&version.join(ORIGIN), record, 0o644)?;
    replace_with_symlink(&dir.join(LIVE), Path::new(&name))?;
    ensure_links(dir)?;
    for old in versions(dir) {
        if old != name && Some(old.as_str()) != previous {
            remove_version(&dir.join(&old))?;
        }
    }
    Ok(())
}

/// The installed pair and who installed it, read once through the fixed paths. The origin
/// is `Unknown` without a record, or when the record was written for another leaf.
pub fn read(paths: &Paths) -> Option<(Pair, Origin)> {
    let chain = fs::read(paths.tls_fullchain()).ok()?;
    let key = fs::read(paths.tls_privkey()).ok()?;
    let pair = Pair::from_pem(&chain, &key).ok()?;
    let origin = fs::read(paths.tls_dir().join(LIVE).join(ORIGIN))
        .ok()
        .and_then(|b| serde_json::from_slice::<OriginRecord>(&b).ok())
        .filter(|r| r.leaf_sha256 == leaf_sha256(&pair))
        .map_or(Origin::Unknown, |r| r.origin);
    Some((pair, origin))
}

/// Why the installed key does not belong to the installed certificate (one sentence naming
/// the key file and what to do), or `None` when it does.
pub fn mismatch(paths: &Paths) -> Option<String> {
    let key_path = paths.tls_privkey();
    let problem = (|| -> Result<()> {
        let chain = fs::read(paths.tls_fullchain())?;
        let key = fs::read(&key_path)?;
        let pair = Pair::from_pem(&chain, &key)?;
        super::verify::key_matches(&pair)
    })()
    .err()?;
    Some(format!(
        "{}: {problem:#}; run `meet-agent renew` (or `meet-agent run`) to install a matching pair",
        key_path.display()
    ))
}

/// Moves an older agent's plain files behind the `live` link (see [`install`]); nothing to
/// do when no certificate is installed or it already is.
pub fn migrate(paths: &Paths) -> Result<()> {
    let dir = paths.tls_dir();
    if !dir.is_dir() {
        return Ok(());
    }
    adopt_plain_files(&dir)
}

/// Removes version folders a killed run wrote but never made live (numbered above the live
/// one). Call with the run lock held: only a run holding it writes versions.
pub fn remove_unfinished_versions(paths: &Paths) -> Result<Vec<PathBuf>> {
    let dir = paths.tls_dir();
    let Some(live) = live_version(&dir).and_then(|n| number(&n)) else {
        return Ok(Vec::new());
    };
    let mut removed = Vec::new();
    for name in versions(&dir) {
        if number(&name).is_some_and(|n| n > live) {
            let path = dir.join(&name);
            remove_version(&path)?;
            removed.push(path);
        }
    }
    Ok(removed)
}

/// An older agent's plain `fullchain.pem` and `privkey.pem` become a version of their own
/// and the fixed paths links into `live/`: each link names the same bytes the plain file
/// held, so the pair stays matched through the migration.
fn adopt_plain_files(dir: &Path) -> Result<()> {
    let is_link =
        |name: &str| fs::symlink_metadata(dir.join(name)).is_ok_and(|m| m.file_type().is_symlink());
    if is_link(CHAIN) && is_link(KEY) {
        return Ok(());
    }
    let (Ok(chain), Ok(key)) = (fs::read(dir.join(CHAIN)), fs::read(dir.join(KEY))) else {
        // Nothing whole to keep: the new version's links replace whatever is there.
        return Ok(());
    };
    let record = match Pair::from_pem(&chain, &key) {
        Ok(pair) => serde_json::to_vec_pretty(&OriginRecord {
            leaf_sha256: leaf_sha256(&pair),
            origin: Origin::Unknown,
        })?,
        Err(_) => b"{}".to_vec(),
    };
    let previous = live_version(dir);
    write_version(dir, &chain, &key, &record, previous.as_deref())
}

/// Points the fixed paths at `live/`, each replaced in one rename when it is not already.
fn ensure_links(dir: &Path) -> Result<()> {
    for name in [CHAIN, KEY] {
        let target = Path::new(LIVE).join(name);
        if fs::read_link(dir.join(name)).is_ok_and(|t| t == target) {
            continue;
        }
        replace_with_symlink(&dir.join(name), &target)?;
    }
    Ok(())
}

/// Makes `path` a symlink to `target` in one rename(2), then makes that durable.
fn replace_with_symlink(path: &Path, target: &Path) -> Result<()> {
    let dir = path
        .parent()
        .with_context(|| format!("cannot link {}: it has no parent folder", path.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)
        .with_context(|| format!("failed to create symlink {}", tmp.display()))?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(e)
            .with_context(|| format!("failed to rename {} to {}", tmp.display(), path.display()));
    }
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("failed to sync folder {}", dir.display()))?;
    Ok(())
}

/// The version `live` names, when it names one.
fn live_version(dir: &Path) -> Option<String> {
    let target = fs::read_link(dir.join(LIVE)).ok()?;
    let name = target.to_str()?.to_string();
    number(&name).map(|_| name)
}

/// The version folders present, by name.
fn versions(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| number(n).is_some())
        .collect()
}

/// A name for the next version: one above every version present and the live one.
fn next_version(dir: &Path) -> String {
    let highest = versions(dir)
        .iter()
        .chain(live_version(dir).iter())
        .filter_map(|n| number(n))
        .max()
        .unwrap_or(0);
    format!("{VERSION_PREFIX}{}", highest.saturating_add(1))
}

/// The counter of a version folder's name.
fn number(name: &str) -> Option<u64> {
    name.strip_prefix(VERSION_PREFIX)?.parse().ok()
}

/// Removes a version folder (gone already is fine).
fn remove_version(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("failed to remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// SHA-256 of the leaf, hex.
fn leaf_sha256(pair: &Pair) -> String {
    let leaf = pair.chain.first().map(|c| c.as_ref()).unwrap_or_default();
    ring::digest::digest(&ring::digest::SHA256, leaf)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::{selfsigned, verify};
    use std::os::unix::fs::PermissionsExt;

    fn pair(name: &str) -> Pair {
        match selfsigned::generate(&[name.to_string()], time::OffsetDateTime::now_utc()) {
            Ok(p) => p,
            Err(e) => panic!("cannot make a test certificate: {e:#}"),
        }
    }

    fn matched(paths: &Paths) -> bool {
        read(paths).is_some_and(|(p, _)| verify::key_matches(&p).is_ok())
    }

    #[test]
    fn installs_as_a_version_behind_one_link_and_keeps_the_previous() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = Paths::new(tmp.path());
        let dir = paths.tls_dir();
        for i in 0..4 {
            assert!(install(&paths, &pair(&format!("a{i}.example")), &Origin::SelfSigned).unwrap());
            assert!(matched(&paths));
        }
        let mut left = versions(&dir);
        left.sort();
        assert_eq!(left, ["v-3", "v-4"]);
        assert_eq!(fs::read_link(dir.join(LIVE)).unwrap(), Path::new("v-4"));
        assert_eq!(
            fs::read_link(paths.tls_fullchain()).unwrap(),
            Path::new("live/fullchain.pem")
        );
        let mode = fs::metadata(dir.join("v-4").join(KEY))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o007, 0, "{mode:o}");
        // The same pair and origin again changes nothing.
        let (same, _) = read(&paths).unwrap();
        assert!(!install(&paths, &same, &Origin::SelfSigned).unwrap());
        assert_eq!(live_version(&dir).as_deref(), Some("v-4"));
    }

    #[test]
    fn origin_is_read_back_only_for_its_own_leaf() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = Paths::new(tmp.path());
        let acme = Origin::Acme {
            directory: "https://ca.example/dir".into(),
        };
        install(&paths, &pair("a.example"), &acme).unwrap();
        assert_eq!(read(&paths).unwrap().1, acme);
        // A certificate written through the links by hand is not the CA's.
        let other = pair("b.example");
        fs::write(paths.tls_fullchain(), other.chain_pem()).unwrap();
        fs::write(paths.tls_privkey(), other.key.pem()).unwrap();
        assert_eq!(read(&paths).unwrap().1, Origin::Unknown);
    }

    #[test]
    fn a_kill_before_the_swap_leaves_the_old_pair_matched_and_the_leftover_is_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = Paths::new(tmp.path());
        let dir = paths.tls_dir();
        let old = pair("old.example");
        install(&paths, &old, &Origin::SelfSigned).unwrap();
        // A run killed after writing the new version's key, before its chain and the swap.
        let new = pair("new.example");
        fs::create_dir(dir.join("v-2")).unwrap();
        fs::write(dir.join("v-2").join(KEY), new.key.pem()).unwrap();
        assert!(matched(&paths));
        assert_eq!(read(&paths).unwrap().0.chain_pem(), old.chain_pem());
        assert_eq!(
            remove_unfinished_versions(&paths).unwrap(),
            [dir.join("v-2")]
        );
        install(&paths, &new, &Origin::SelfSigned).unwrap();
        assert!(matched(&paths));
        assert_eq!(read(&paths).unwrap().0.chain_pem(), new.chain_pem());
    }

    #[test]
    fn plain_files_of_an_older_agent_are_adopted_then_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = Paths::new(tmp.path());
        let dir = paths.tls_dir();
        let old = pair("old.example");
        fs::create_dir_all(&dir).unwrap();
        fs::write(paths.tls_fullchain(), old.chain_pem()).unwrap();
        fs::write(paths.tls_privkey(), old.key.pem()).unwrap();
        let new = pair("new.example");
        assert!(install(&paths, &new, &Origin::SelfSigned).unwrap());
        assert!(matched(&paths));
        // The adopted old pair is the previous version, whole.
        let previous = dir.join("v-1");
        let kept = Pair::from_pem(
            &fs::read(previous.join(CHAIN)).unwrap(),
            &fs::read(previous.join(KEY)).unwrap(),
        )
        .unwrap();
        assert_eq!(kept.chain_pem(), old.chain_pem());
        assert!(verify::key_matches(&kept).is_ok());
    }
}
