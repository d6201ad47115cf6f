//! Recordings to S3 against moto's S3 server on loopback (a real implementation of the S3
//! API: buckets, multipart uploads, Content-MD5 checks, SigV4 signatures and the role's
//! permissions; installed by tests/install-deps), with the instance role's credentials
//! (moto's STS) from the IMDS stand-in. `recording finalize` (jibri's finalize script) only
//! places and queues; `recording upload` (meet-agent-recording-upload.service) sends. The
//! shipped recording units are checked with `systemd-analyze verify`. A full disk (a
//! small tmpfs mounted at the test root's /var/lib/ryo-jitsi): the disk guard refuses
//! recordings, stops one in progress and starts jibri again, through stand-ins of jibri's
//! APIs and systemd; finalize on that full disk loses nothing.

#[path = "common/aws_standin.rs"]
mod aws_standin;
#[path = "common/bus.rs"]
mod bus;
mod common;
#[path = "common/moto.rs"]
mod moto;
#[path = "common/systemd.rs"]
mod systemd;

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
    session_of(root, "s1", "WeeklySync", video)
}

/// jibri's session folder `name` for a meeting in `room`.
fn session_of(root: &Root, name: &str, room: &str, video: &[u8]) -> std::path::PathBuf {
    let dir = format!("/var/lib/ryo-jitsi/recordings/.incoming/{name}");
    root.write(
        &format!("{dir}/metadata.json"),
        format!(r#"{{"meeting_url": "https://meet.example.test/{room}", "participants": []}}"#),
    );
    root.write(&format!("{dir}/recording_2026-12-04-19-00-00.mp4"), video);
    root.join(&dir)
}

/// The queue stamp finalize rewrites, if there is one.
fn stamp(root: &Root) -> Option<String> {
    std::fs::read_to_string(root.join(meet_agent::recording::store::QUEUED)).ok()
}

/// `recording finalize DIR`.
fn finalize(root: &Root, dir: &std::path::Path) -> std::process::Output {
    root.run(&["recording", "finalize", dir.to_str().unwrap()])
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
async fn finalize_queues_the_video_and_the_upload_round_sends_it_and_deletes_the_local_copy() {
    let standin = Standin::with_moto();
    let moto = Moto::of(&standin);
    moto.bucket("rec").await;
    let root = site(&standin, &moto.url);
    let video = data(11 << 20, 1);
    let dir = session(&root, &video);
    let out = finalize(&root, &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("upload queued"), "{}", text(&out));
    assert!(stamp(&root).is_some());
    // finalize sends nothing itself: that is the upload round's.
    assert!(moto.keys("rec").await.is_empty());

    let out = root.run(&["recording", "upload"]);
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
async fn finalize_returns_at_once_without_the_network_or_a_usable_configuration() {
    let standin = Standin::with_moto();
    let moto = Moto::of(&standin);
    moto.bucket("rec").await;
    // The store is where nothing listens (port 9 of loopback), and a drop-in no load
    // accepts: any upload or configuration load in finalize would fail or wait.
    let root = site(&standin, "http://127.0.0.1:9");
    root.config("90-broken.toml", "[recording\ns3_bucket = ");
    assert_eq!(stamp(&root), None);

    let first = data(2 << 20, 4);
    let started = Instant::now();
    let out = finalize(&root, &session_of(&root, "s1", "Standup", &first));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        said.contains("placed standup/") && said.contains("upload queued"),
        "{said}"
    );
    let after_first = stamp(&root).expect("the queue stamp");
    assert!(after_first.contains("standup/"), "{after_first}");

    let second = data(1 << 20, 5);
    let out = finalize(&root, &session_of(&root, "s2", "Retro", &second));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let after_second = stamp(&root).expect("the queue stamp");
    assert_ne!(after_first, after_second, "the stamp changed");

    // Nothing asked the metadata service (credentials, region) or the store.
    assert_eq!(standin.log().await["imds"], serde_json::json!([]));
    assert!(moto.keys("rec").await.is_empty());
    let placed = |room: &str| {
        std::fs::read_dir(root.join(&format!("/var/lib/ryo-jitsi/recordings/{room}")))
            .unwrap()
            .map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(placed("standup"), vec![first.clone()]);
    assert_eq!(placed("retro"), vec![second.clone()]);

    // Configuration fixed, store reachable: the upload round sends both.
    std::fs::remove_file(root.join("/etc/meet-agent/config.d/90-broken.toml")).unwrap();
    root.config(
        "50-store.toml",
        &format!("[recording]\ns3_endpoint = \"{}\"\n", moto.url),
    );
    let out = root.run(&["recording", "upload"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    bucket_holds(&moto, &[("standup", &first), ("retro", &second)]).await;
}

#[tokio::test]
async fn two_upload_rounds_at_once_send_each_recording_once() {
    let standin = Standin::with_moto();
    let moto = Moto::of(&standin);
    moto.bucket("rec").await;
    moto.keep_versions("rec").await;
    let root = site(&standin, &moto.url);
    let mut videos = Vec::new();
    for (i, room) in ["alpha", "beta", "gamma"].into_iter().enumerate() {
        // 12 MiB: three parts of 5 MiB, long enough for the rounds to overlap.
        let video = data(12 << 20, 10 + i as u8);
        let out = finalize(&root, &session_of(&root, room, room, &video));
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        videos.push(video);
    }
    let round = || {
        root.command(&["recording", "upload"], &[])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (round(), round());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert_eq!(a.status.code(), Some(0), "{}", text(&a));
    assert_eq!(b.status.code(), Some(0), "{}", text(&b));
    let both = format!("{}{}", text(&a), text(&b));
    assert!(
        both.contains("waiting for another recording upload"),
        "the rounds did not overlap: {both}"
    );
    // Versioned: a second upload of a key would be a second version.
    let versions = moto.versions("rec").await;
    assert_eq!(versions.len(), 3, "one upload per recording: {versions:?}");
    let rooms = ["alpha", "beta", "gamma"];
    let expected: Vec<(&str, &[u8])> = rooms
        .into_iter()
        .zip(videos.iter().map(Vec::as_slice))
        .collect();
    bucket_holds(&moto, &expected).await;
    for room in rooms {
        assert_eq!(
            both.matches(&format!("uploaded {room}/")).count(),
            1,
            "{both}"
        );
    }
    let list = root.run(&["recording", "list", "--json"]);
    assert_eq!(
        String::from_utf8_lossy(&list.stdout).trim(),
        "[]",
        "{}",
        text(&list)
    );
}

#[tokio::test]
async fn a_recording_finalized_during_an_upload_round_is_sent_by_that_round() {
    let standin = Standin::with_moto();
    let moto = Moto::of(&standin);
    moto.bucket("rec").await;
    let root = site(&standin, &moto.url);
    // 40 MiB: eight parts, time enough to finalize the next one while they go up.
    let long = data(40 << 20, 20);
    let out = finalize(&root, &session_of(&root, "s1", "Long", &long));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let round = root
        .command(&["recording", "upload"], &[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while moto.uploads_in_progress("rec").await == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no upload started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // systemd would start no second round now: the running one must pick it up.
    let late = data(1 << 20, 21);
    let out = finalize(&root, &session_of(&root, "s2", "Late", &late));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = round.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        said.contains("uploaded long/") && said.contains("uploaded late/"),
        "{said}"
    );
    bucket_holds(&moto, &[("long", &long), ("late", &late)]).await;
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
    let out = finalize(&root, &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = root.run(&["recording", "upload"]);
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
    let out = finalize(&root, &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let mut child = root.spawn(&["recording", "upload"]);
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

/// The bucket holds exactly `videos`, one object each under `meet/<room>/`.
async fn bucket_holds(moto: &Moto<'_>, videos: &[(&str, &[u8])]) {
    let keys = moto.keys("rec").await;
    assert_eq!(keys.len(), videos.len(), "{keys:?}");
    for (room, video) in videos {
        let key = keys
            .iter()
            .find(|k| k.starts_with(&format!("meet/{room}/")))
            .unwrap_or_else(|| panic!("nothing of {room} in the bucket: {keys:?}"));
        assert_eq!(moto.digest(&format!("rec/{key}")).await, Ok(sha256(video)));
    }
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
    let out = finalize(&root, &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The upload round (from its path unit) has nothing to send, and says why.
    let out = root.run(&["recording", "upload"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("s3_bucket is not set"),
        "{}",
        text(&out)
    );
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
    let out = finalize(&root, &dir);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("not a regular file"), "{}", text(&out));
    assert_eq!(stamp(&root), None, "nothing placed, nothing queued");
    assert!(std::fs::symlink_metadata(dir.join("x.mp4")).is_ok());
    assert!(
        std::fs::read_dir(root.join("/var/lib/ryo-jitsi/recordings/unknown-room"))
            .map_or(true, |mut d| d.next().is_none())
    );
}

/// The shipped recording units, with the test's binary in place of /usr/bin/meet-agent.
const UNITS: [&str; 7] = [
    "meet-agent-recording-upload.path",
    "meet-agent-recording-upload.service",
    "meet-agent-recording-upload.timer",
    "meet-agent-recording-prune.service",
    "meet-agent-recording-prune.timer",
    "meet-agent-recording-guard.service",
    "meet-agent-recording-guard.timer",
];

#[test]
fn the_recording_units_pass_systemd_analyze_verify_and_watch_the_stamp_finalize_writes() {
    let dir = tempfile::tempdir().unwrap();
    let checked: Vec<_> = UNITS
        .iter()
        .map(|name| common::shipped_unit(dir.path(), name))
        .collect();
    let path_unit = std::fs::read_to_string(&checked[0]).unwrap();
    assert!(
        path_unit.contains(&format!(
            "\nPathChanged={}\n",
            meet_agent::recording::store::QUEUED
        )),
        "{path_unit}"
    );
    for (service, command) in [
        (&checked[1], "recording upload"),
        (&checked[3], "recording prune"),
    ] {
        let unit = std::fs::read_to_string(service).unwrap();
        assert!(unit.contains("\nType=oneshot\n"), "{unit}");
        assert!(
            unit.contains(&format!(
                "ExecStart={} {command}\n",
                env!("CARGO_BIN_EXE_meet-agent")
            )),
            "{unit}"
        );
    }
    let (ok, said) = common::verify_units(&checked);
    // Outside a booted systemd it may note that; anything about our units is a failure.
    assert!(ok && !said.contains("meet-agent"), "{said}");
}

/// jibri's external (2222: health, stopService) and internal (3333: gracefulShutdown) APIs
/// on 127.0.0.1 (jitsi/jibri doc/http_api.md, HttpApi.kt, InternalHttpApi.kt): health says
/// busy while the file argv[1] exists; every POST is appended to argv[2].
const JIBRI_APIS: &str = r#"
import json, os, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
busy_file, log_file = sys.argv[1:3]
class H(BaseHTTPRequestHandler):
    def answer(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers(); self.wfile.write(data)
    def do_GET(self):
        busy = "BUSY" if os.path.exists(busy_file) else "IDLE"
        self.answer({"status": {"busyStatus": busy, "health": {"healthStatus": "HEALTHY"}}})
    def do_POST(self):
        with open(log_file, "a") as f:
            f.write("POST %s\n" % self.path)
        self.answer({})
    def log_message(self, *a): pass
for port in (2222, 3333):
    s = ThreadingHTTPServer(("127.0.0.1", port), H)
    threading.Thread(target=s.serve_forever, daemon=True).start()
print("READY", flush=True)
sys.stdin.read()
"#;

/// A tmpfs of `mib` MiB mounted at `dir`, unmounted on drop.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: std::path::PathBuf, mib: u32) -> Self {
        std::fs::create_dir_all(&dir).unwrap();
        let out = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={mib}m,mode=0755"),
                "tmpfs",
            ])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "mount: {}", text(&out));
        Tmpfs(dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Fills the file system at `file`'s folder up to the last byte (`dd` until ENOSPC).
fn fill(file: &std::path::Path) {
    let _ = std::process::Command::new("dd")
        .args(["if=/dev/zero", "bs=64k"])
        .arg(format!("of={}", file.display()))
        .stderr(std::process::Stdio::null())
        .status();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_recordings_stops_one_and_loses_nothing() {
    let standin = Standin::with_moto();
    let moto = Moto::of(&standin);
    moto.bucket("rec").await;
    let root = site(&standin, &moto.url);
    root.config("10-guard.toml", "[recording]\nmin_free_mib = 8\n");
    let _disk = Tmpfs::mount(root.join("/var/lib/ryo-jitsi"), 32);
    // A single machine recording itself (recording.local; its jibri.conf, which needs 4
    // CPUs to be rendered, stands here for one), after a run for status to read.
    root.run(&["run"]);
    root.write(meet_agent::jitsi::jibri::CONF, "jibri {}\n");
    let ns = common::Ns(format!("ryorec-{}", std::process::id()));
    let ip = |args: &[&str]| {
        assert!(std::process::Command::new("ip")
            .args(args)
            .status()
            .unwrap()
            .success());
    };
    ip(&["netns", "add", &ns.0]);
    ip(&["-n", &ns.0, "link", "set", "lo", "up"]);
    let work = tempfile::tempdir().unwrap();
    let (busy, posts) = (work.path().join("busy"), work.path().join("posts"));
    let mut jibri = std::process::Command::new("ip")
        .args(["netns", "exec", &ns.0, "/usr/bin/python3", "-c", JIBRI_APIS])
        .arg(&busy)
        .arg(&posts)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(jibri.stdout.take().unwrap()),
        &mut ready,
    )
    .unwrap();
    assert_eq!(ready.trim(), "READY");
    let bus = bus::Bus::start();
    let units = [(
        "jibri.service".to_string(),
        systemd::UnitState::installed("inactive", "enabled"),
    )]
    .into_iter()
    .collect();
    let systemd = systemd::Systemd::serve(&bus.address, units).await;
    let guard = || {
        let mut cmd = root.command_in(&ns.0, &["recording", "guard"]);
        cmd.env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            .stdin(std::process::Stdio::null());
        cmd.output().unwrap()
    };
    let posted = || std::fs::read_to_string(&posts).unwrap_or_default();
    let state = || -> serde_json::Value {
        serde_json::from_slice(
            &std::fs::read(root.join(meet_agent::recording::guard::STATE)).unwrap(),
        )
        .unwrap()
    };

    // Room: nothing to do.
    let out = guard();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("jibri may record"),
        "{}",
        text(&out)
    );
    assert_eq!(posted(), "");

    // A session jibri finished, then the disk fills to its last byte.
    let video = data(1 << 20, 9);
    let dir = session(&root, &video);
    fill(&root.join("/var/lib/ryo-jitsi/filler"));

    // Idle and below the minimum: no new recording (graceful shutdown), and status says why.
    let out = guard();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(posted(), "POST /jibri/api/internal/v1.0/gracefulShutdown\n");
    assert_eq!(state()["refused"], true);
    let (_, report) = root.status_json(&[]);
    let reasons = report["reasons"].to_string();
    assert!(
        reasons.contains("deployment: recordings are refused: "),
        "{report:#}"
    );
    assert_eq!(
        report["deployment"]["recorder"]["guard"]["refused"], true,
        "{report:#}"
    );

    // Recording and below a quarter of the minimum: stopped now.
    std::fs::write(&busy, "").ok(); // the work dir is not on the full disk
    let out = guard();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        posted().contains("POST /jibri/api/v1.0/stopService\n"),
        "{}",
        posted()
    );
    assert_eq!(state()["stopped_recording"], true);
    std::fs::remove_file(&busy).unwrap();

    // jibri's finalize on the full disk: the video is placed (a rename needs no space),
    // the queue stamp cannot be written, and finalize says so and exits 1.
    let out = finalize(&root, &dir);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let listed = root.run(&["recording", "list", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows:#}");
    let relative = rows[0]["recording"].as_str().unwrap().to_string();

    // Room again: jibri is started, the refusal ends, and the queued video goes up.
    std::fs::remove_file(root.join("/var/lib/ryo-jitsi/filler")).unwrap();
    let out = guard();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        systemd
            .calls()
            .iter()
            .any(|c| c.starts_with("StartUnit jibri.service")),
        "{:?}",
        systemd.calls()
    );
    assert_eq!(state()["refused"], false);
    let out = root.run(&["recording", "upload"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        moto.digest(&format!("rec/meet/{relative}")).await,
        Ok(sha256(&video))
    );
    drop(jibri.stdin.take());
    let _ = jibri.wait();
}
