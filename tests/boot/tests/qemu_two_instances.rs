//! Boot scenario 4 (issue 5): two instances booted from one image share no identity: each
//! has its own machine-id and its own SSH host keys (made at first boot, never baked in).
//! Nor any of the Jitsi secrets the agent makes per instance: compared by the fingerprints
//! status shows, and then, once both have powered off, the first's secret values (read from
//! its disk with debugfs, no mount) are looked for in every byte of the second's disk: no
//! file, deleted block or journal of the second may hold one (issue 12: the image must not
//! carry install-time secrets every instance would share). The same search on the first's
//! own disk finds them, which shows the search sees what is on a disk.

use boot_tests::{BootSpec, Guest};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The guest's disk as one raw file (overlay and image together), for debugfs and grep.
fn raw_disk(dir: &Path, name: &str) -> PathBuf {
    let raw = dir.join(format!("{name}.raw"));
    let out = Command::new("qemu-img")
        .args(["convert", "-O", "raw"])
        .arg(dir.join("overlay.qcow2"))
        .arg(&raw)
        .output()
        .expect("qemu-img (apt-get install qemu-utils)");
    assert!(
        out.status.success(),
        "qemu-img convert: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    raw
}

/// The per-instance secret values in /var/lib/meet-agent/secrets.json on a raw disk.
fn secret_values(raw: &Path) -> Vec<String> {
    // The guest was stopped without unmounting: what it wrote last may sit only in ext4's
    // journal (committed, so the next mount replays it), and debugfs reads around the
    // journal. e2fsck replays it into this throwaway copy first (exit 1: it changed
    // something, as replaying does).
    let fsck = Command::new("e2fsck")
        .arg("-fy")
        .arg(raw)
        .output()
        .expect("e2fsck (apt-get install e2fsprogs)");
    assert!(
        matches!(fsck.status.code(), Some(0) | Some(1)),
        "e2fsck of the first disk: {}{}",
        String::from_utf8_lossy(&fsck.stdout),
        String::from_utf8_lossy(&fsck.stderr)
    );
    let out = Command::new("debugfs")
        .arg("-R")
        .arg("cat /var/lib/meet-agent/secrets.json")
        .arg(raw)
        .output()
        .expect("debugfs (apt-get install e2fsprogs)");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "secrets.json on the first disk is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    [
        "focus_password",
        "jvb_password",
        "turn_secret",
        "jwt_app_secret",
    ]
    .iter()
    .map(|k| {
        json[k]
            .as_str()
            .unwrap_or_else(|| panic!("secrets.json has no {k}"))
            .to_string()
    })
    // One left empty (no JWT) is no secret, and an empty pattern would match anything.
    .filter(|v| !v.is_empty())
    .collect()
}

/// Which of `values` occur anywhere in the raw disk `raw` (grep over every byte).
fn found_on(raw: &Path, values: &[String], dir: &Path) -> Vec<String> {
    let patterns = dir.join("patterns");
    std::fs::write(&patterns, values.join("\n") + "\n").unwrap();
    let out = Command::new("grep")
        .args(["-a", "-o", "-F", "-f"])
        .arg(&patterns)
        .arg(raw)
        .output()
        .expect("grep");
    let text = String::from_utf8_lossy(&out.stdout);
    values
        .iter()
        .filter(|v| text.lines().any(|l| l == v.as_str()))
        .cloned()
        .collect()
}

fn identity(report: &boot_tests::Report) -> (String, Vec<String>) {
    let machine_id = report
        .instance
        .iter()
        .find_map(|l| l.strip_prefix("machine-id "))
        .unwrap_or_default()
        .to_string();
    // `ssh-keygen -l` lines: BITS SHA256:... COMMENT (TYPE); the fingerprint is the key.
    let keys: Vec<String> = report
        .instance
        .iter()
        .filter(|l| l.contains("SHA256:"))
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect();
    (machine_id, keys)
}

#[test]
fn two_instances_from_one_image_have_their_own_machine_id_and_host_keys() {
    // Both run at once: the same image, each on its own throwaway overlay.
    let spec = BootSpec::default();
    let mut first = Guest::boot(&spec, None).unwrap();
    let mut second = Guest::boot(&spec, None).unwrap();
    let a = first
        .report(Duration::from_secs(300))
        .unwrap_or_else(|e| panic!("{e:#}"));
    let b = second
        .report(Duration::from_secs(300))
        .unwrap_or_else(|e| panic!("{e:#}"));
    let (id_a, keys_a) = identity(&a);
    let (id_b, keys_b) = identity(&b);
    assert_eq!(id_a.len(), 32, "machine-id of the first: {:?}", a.instance);
    assert_eq!(id_b.len(), 32, "machine-id of the second: {:?}", b.instance);
    assert_ne!(id_a, id_b, "two instances share a machine-id");
    assert!(
        keys_a.len() >= 2,
        "SSH host keys of the first: {:?}",
        a.instance
    );
    assert_eq!(keys_a.len(), keys_b.len());
    for key in &keys_a {
        assert!(
            !keys_b.contains(key),
            "two instances share SSH host key {key}"
        );
    }
    let prints = |r: &boot_tests::Report| r.status["secrets"]["fingerprints"].clone();
    let (pa, pb) = (prints(&a), prints(&b));
    let names = pa.as_object().map(|o| o.len()).unwrap_or(0);
    // Every per-instance secret the agent makes (focus, jvb, TURN, JWT, the recorders'
    // and the SIP gateways' accounts, and any added later), each reported.
    let made = meet_agent::jitsi::secrets::Secrets::generate(None)
        .expect("random secrets")
        .fingerprints()
        .len();
    assert_eq!(names, made, "secrets of the first: {pa}");
    for (name, print) in pa.as_object().into_iter().flatten() {
        assert_ne!(&pb[name], print, "two instances share {name}");
    }
    // And both came up without a failed unit.
    assert!(
        a.failed_units.is_empty() && b.failed_units.is_empty(),
        "failed units: {:?} / {:?}\n{:#}",
        a.failed_units,
        b.failed_units,
        a.status
    );

    // Both power off (their disks flushed); their folders, with the overlays, stay ours.
    let dir_a = std::mem::replace(&mut first.dir, tempfile::tempdir().unwrap());
    let dir_b = std::mem::replace(&mut second.dir, tempfile::tempdir().unwrap());
    first.shut_down(Duration::from_secs(60)).unwrap();
    second.shut_down(Duration::from_secs(60)).unwrap();
    let raw_a = raw_disk(dir_a.path(), "first");
    let raw_b = raw_disk(dir_b.path(), "second");
    let values = secret_values(&raw_a);
    assert!(
        values.len() >= 3,
        "too few secrets on the first disk: {}",
        values.len()
    );
    assert_eq!(
        found_on(&raw_a, &values, dir_a.path()).len(),
        values.len(),
        "the search does not find the first's secrets on its own disk"
    );
    let shared = found_on(&raw_b, &values, dir_b.path());
    assert!(
        shared.is_empty(),
        "{} of the first instance's secret values are on the second's disk",
        shared.len()
    );
}
