//! Recordings to S3 against moto's S3 server on loopback (a real implementation of the S3
//! API: buckets, multipart uploads, Content-MD5 checks, SigV4 signatures and the role's
//! permissions; installed by tests/install-deps), with the instance role's credentials
//! (moto's STS) from the IMDS stand-in.

#[path = "common/aws_standin.rs"]
mod aws_standin;
mod common;
#[path = "common/moto.rs"]
mod moto;

use aws_standin::{Standin, REGION};
use common::Root;
use meet_agent::aws::s3::{MIN_PART, S3};
use moto::{sha256, Moto};
use std::time::{Duration, Instant};

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2654435761).to_le_bytes()[0] ^ seed)
        .collect()
}

/// A recorder's site: IMDS for credentials, the bucket at `endpoint`, 5 MiB parts.
fn site(standin: &Standin, endpoint: &str) -> Root {
    let root = Root::new();
    root.write("/etc/machine-id", "0123456789abcdef0123456789abcdef\n");
    root.config(
        "00.toml",
        &format!(
            "[source]\nprovider = \"none\"\nec2_endpoint = \"{}\"\n[server]\ndomain = \"meet.example.test\"\n\
             [recording]\ns3_bucket = \"rec\"\ns3_prefix = \"meet/\"\ns3_endpoint = \"{endpoint}\"\ns3_part_mib = 5\n",
            standin.imds
        ),
    );
    root
}

/// jibri's session folder: one video and metadata.json naming the meeting.
fn session(root: &Root, video: &[u8]) -> std::path::PathBuf {
    root.write(
        "/var/lib/ryo-jitsi/recordings/.incoming/s1/metadata.json",
        r#"{"meeting_url": "https://meet.example.test/WeeklySync", "participants": []}"#,
    );
    root.write(
        "/var/lib/ryo-jitsi/recordings/.incoming/s1/weeklysync_2026-12-04-19-00-00.mp4",
        video,
    );
    root.join("/var/lib/ryo-jitsi/recordings/.incoming/s1")
}

fn text(out: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn a_large_file_goes_up_in_parts_and_reads_back_the_same() {
    let standin = Standin::with_moto();
    let moto = Moto::of(&standin);
    moto.bucket("rec").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.mp4");
    let bytes = data(MIN_PART * 2 + 12345, 7);
    std::fs::write(&file, &bytes).unwrap();
    let imds = standin.imds_client();
    let s3 = S3::new(
        REGION,
        "rec",
        Some(&moto.url),
        imds,
        Duration::from_secs(20),
        MIN_PART,
    )
    .unwrap();
    let up = s3.upload_file(&file, "meet/room/a.mp4").await.unwrap();
    assert_eq!(up.parts, 3);
    assert_eq!(moto.digest("rec/meet/room/a.mp4").await, Ok(sha256(&bytes)));
    assert_eq!(moto.uploads_in_progress("rec").await, 0);
}

#[tokio::test]
async fn finalize_places_the_video_uploads_it_and_deletes_the_local_copy() {
    let standin = Standin::with_moto();
    let moto = Moto::of(&standin);
    moto.bucket("rec").await;
    let root = site(&standin, &moto.url);
    let video = data(11 << 20, 1);
    let dir = session(&root, &video);
    let out = root.run(&["recording", "finalize", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let keys = moto.keys("rec").await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        keys[0].starts_with("meet/weeklysync/") && keys[0].ends_with("Z.mp4"),
        "{keys:?}"
    );
    assert_eq!(
        moto.digest(&format!("rec/{}", keys[0])).await,
        Ok(sha256(&video))
    );
    // Uploaded, so nothing stays on disk: neither in jibri's folder nor placed.
    assert!(std::fs::read_dir(&dir).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".mp4")));
    let list = root.run(&["recording", "list"]);
    assert!(
        String::from_utf8_lossy(&list.stdout).contains("no recordings on disk"),
        "{}",
        text(&list)
    );
}

#[tokio::test]
async fn an_unreachable_store_keeps_the_recording_queued_until_an_upload_succeeds() {
    let standin = Standin::with_moto();
    let moto = Moto::of(&standin);
    moto.bucket("rec").await;
    // Nothing listens on port 9 of loopback.
    let root = site(&standin, "http://127.0.0.1:9");
    let video = data(3 << 20, 2);
    let dir = session(&root, &video);
    let out = root.run(&["recording", "finalize", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("stays queued"), "{}", text(&out));
    let list = root.run(&["recording", "list", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    let relative = rows[0]["recording"].as_str().unwrap().to_string();
    assert!(relative.starts_with("weeklysync/"), "{rows}");
    assert!(
        rows[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("PutObject at http://127.0.0.1:9"),
        "{rows}"
    );
    let placed = root.join(&format!("/var/lib/ryo-jitsi/recordings/{relative}"));
    assert_eq!(sha256(&std::fs::read(&placed).unwrap()), sha256(&video));

    // The store is back (here: configured): the queued recording goes up, then leaves.
    root.config(
        "50-store.toml",
        &format!("[recording]\ns3_endpoint = \"{}\"\n", moto.url),
    );
    upload_round_sends(&root, &moto, &relative, &video).await;
}

#[tokio::test]
async fn a_killed_upload_loses_nothing_and_the_next_round_completes_it() {
    let standin = Standin::with_moto();
    let moto = Moto::of(&standin);
    moto.bucket("rec").await;
    let root = site(&standin, &moto.url);
    // 30 parts of 5 MiB: long enough to be caught between parts.
    let video = data(150 << 20, 3);
    let dir = session(&root, &video);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_meet-agent"))
        .arg("--root")
        .arg(root.path())
        .args(["recording", "finalize"])
        .arg(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while moto.uploads_in_progress("rec").await == 0 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the upload ended before it could be killed; make the video larger"
        );
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no upload started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(moto.keys("rec").await.is_empty());
    let list = root.run(&["recording", "list", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let relative = rows[0]["recording"].as_str().unwrap().to_string();
    let placed = root.join(&format!("/var/lib/ryo-jitsi/recordings/{relative}"));
    assert_eq!(
        sha256(&std::fs::read(&placed).unwrap()),
        sha256(&video),
        "the local copy is intact"
    );
    upload_round_sends(&root, &moto, &relative, &video).await;
}

/// `recording upload` sends the queued `relative` and deletes its local copy.
async fn upload_round_sends(root: &Root, moto: &Moto<'_>, relative: &str, video: &[u8]) {
    let out = root.run(&["recording", "upload"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        moto.digest(&format!("rec/meet/{relative}")).await,
        Ok(sha256(video))
    );
    let placed = root.join(&format!("/var/lib/ryo-jitsi/recordings/{relative}"));
    assert!(!placed.exists());
}

#[tokio::test]
async fn without_a_bucket_recordings_stay_on_disk_and_are_pruned_after_keep_days() {
    let root = Root::new();
    root.config(
        "00.toml",
        "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\n[recording]\nkeep_days = 1\n",
    );
    let dir = session(&root, b"video");
    let out = root.run(&["recording", "finalize", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let list = root.run(&["recording", "list"]);
    let shown = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(
        shown.contains("weeklysync/") && shown.contains("on disk"),
        "{shown}"
    );
    // Fresh: pruning keeps it.
    let out = root.run(&["recording", "prune"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).is_empty(),
        "{}",
        text(&out)
    );
    // Two days old: pruned.
    let rows: serde_json::Value =
        serde_json::from_slice(&root.run(&["recording", "list", "--json"]).stdout).unwrap();
    let placed = root.join(&format!(
        "/var/lib/ryo-jitsi/recordings/{}",
        rows[0]["recording"].as_str().unwrap()
    ));
    let old = std::time::SystemTime::now() - Duration::from_secs(2 * 86_400);
    std::fs::File::options()
        .write(true)
        .open(&placed)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let out = root.run(&["recording", "prune"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("deleted weeklysync/"),
        "{}",
        text(&out)
    );
    assert!(!placed.exists());
}

#[test]
fn a_symlinked_video_is_refused_and_left_where_it_is() {
    let root = Root::new();
    root.config(
        "00.toml",
        "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\n",
    );
    let dir = root.join("/var/lib/ryo-jitsi/recordings/.incoming/s2");
    std::fs::create_dir_all(&dir).unwrap();
    root.write("/etc/shadow-like", "secret");
    std::os::unix::fs::symlink(root.join("/etc/shadow-like"), dir.join("x.mp4")).unwrap();
    let out = root.run(&["recording", "finalize", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("not a regular file"), "{}", text(&out));
    assert!(std::fs::symlink_metadata(dir.join("x.mp4")).is_ok());
    assert!(
        std::fs::read_dir(root.join("/var/lib/ryo-jitsi/recordings/unknown-room"))
            .map_or(true, |mut d| d.next().is_none())
    );
}
