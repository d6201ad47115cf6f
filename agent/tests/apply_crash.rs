//! Crash safety of apply, against the real binary and a stand-in systemd on a private
//! D-Bus: a run killed after writing changed files but before systemd refreshed their
//! services leaves the refresh to the next run; each service is refreshed once per run,
//! over one connection; temporaries of killed runs are removed at the next run.

#[path = "common/bus.rs"]
mod bus;
mod common;
#[path = "common/systemd.rs"]
mod systemd;
use bus::Bus;
use common::{text, Root, TestCa};
use std::time::{Duration, Instant};
use systemd::{Systemd, UnitState};

/// systemd with every unit of the stack installed and running; with `hang` it never
/// answers LoadUnit.
async fn standin(bus: &Bus, hang: bool) -> Systemd {
    let units = meet_agent::systemd::STACK_UNITS
        .iter()
        .map(|u| (u.to_string(), UnitState::installed("active", "enabled")))
        .collect();
    Systemd::serve_hanging(&bus.address, units, hang).await
}

fn site(root: &Root, ca: &TestCa) {
    // The instance id from the start, so that the second run is the same instance.
    root.write("/etc/machine-id", "0123456789abcdef0123456789abcdef\n");
    let leaf = ca.leaf(&["meet.example.test"]);
    root.config(
        "00.toml",
        "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\n",
    );
    root.config(
        "10-tls.toml",
        &format!(
            "[tls]\ncertificate = '''{}'''\nkey = '''{}'''\n",
            ca.chain(&leaf),
            leaf.key_pem
        ),
    );
}

fn agent(root: &Root, bus: &Bus, args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_meet-agent"));
    cmd.arg("--root")
        .arg(root.path())
        .args(args)
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .env_remove("NOTIFY_SOCKET")
        .env_remove("JOURNAL_STREAM");
    cmd
}

/// The calls as "Method unit" (the job mode left out).
fn methods(systemd: &Systemd) -> Vec<String> {
    systemd
        .calls()
        .iter()
        .map(|c| c.split(' ').take(2).collect::<Vec<_>>().join(" "))
        .collect()
}

fn count(calls: &[String], call: &str) -> usize {
    calls.iter().filter(|c| *c == call).count()
}

fn pending(root: &Root) -> Vec<String> {
    // Spelled out, so that this test also builds against an agent without the record.
    let path = root.join("/var/lib/meet-agent/pending-refresh.json");
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let record: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    record["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_before_refreshing_leaves_the_refresh_to_the_next_run() {
    let root = Root::new();
    site(&root, &TestCa::new());

    // First boot: every file is new. systemd never answers, and the run is killed there.
    run_killed_at_first_call(&root).await;
    assert!(
        root.join("/etc/prosody/conf.d/ryo-jitsi.cfg.lua").exists(),
        "the files were written before the kill"
    );
    let left = pending(&root);
    for unit in ["prosody.service", "jicofo.service", "nginx.service"] {
        assert!(left.iter().any(|u| u == unit), "{unit} pending: {left:?}");
    }

    // The next run finds every file up to date, and still refreshes what the killed run
    // left, each service once.
    let bus = Bus::start();
    let systemd = standin(&bus, false).await;
    let out = agent(&root, &bus, &["run"]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let jitsi = root.message("jitsi");
    assert!(
        jitsi.starts_with("every file already up to date"),
        "{jitsi}"
    );
    let seen = methods(&systemd);
    for call in [
        "ReloadUnit prosody.service",
        "ReloadUnit nginx.service",
        "ReloadUnit coturn.service",
        "RestartUnit jicofo.service",
        "RestartUnit jitsi-videobridge2.service",
    ] {
        assert_eq!(count(&seen, call), 1, "{call} once: {seen:?}");
    }
    assert!(pending(&root).is_empty(), "{:?}", pending(&root));

    // And the run after that has nothing left to refresh.
    systemd.clear();
    let out = agent(&root, &bus, &["run"]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let seen = methods(&systemd);
    assert!(
        !seen
            .iter()
            .any(|c| c.starts_with("ReloadUnit") || c.starts_with("RestartUnit")),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_certificate_and_new_prosody_files_reload_prosody_once_over_one_connection() {
    let root = Root::new();
    site(&root, &TestCa::new());
    let bus = Bus::start();
    let systemd = standin(&bus, false).await;
    let out = agent(&root, &bus, &["run"]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let seen = methods(&systemd);
    assert_eq!(
        count(&seen, "ReloadUnit prosody.service"),
        1,
        "the certificate and prosody's file changed, one reload: {seen:?}"
    );
    assert_eq!(count(&seen, "ReloadUnit nginx.service"), 1, "{seen:?}");
    let senders: std::collections::BTreeSet<String> =
        systemd.senders.lock().unwrap().iter().cloned().collect();
    assert_eq!(
        senders.len(),
        1,
        "one D-Bus connection per run: {senders:?}"
    );
}

/// The pid of a process that has ended.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn temporaries_of_killed_runs_are_removed_at_the_next_run() {
    use std::os::unix::fs::MetadataExt;
    let root = Root::new();
    root.config(
        "00.toml",
        "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\n",
    );
    let dead = dead_pid();
    let stale = [
        format!("/etc/meet-agent/tls/.privkey.pem.tmp-{dead}"),
        format!("/var/lib/meet-agent/.state.json.tmp-{dead}"),
        format!("/etc/prosody/conf.d/.ryo-jitsi.cfg.lua.tmp-{dead}"),
        format!("/etc/jitsi/jicofo/.jicofo.conf.tmp-{dead}"),
        format!("/etc/nginx/sites-available/.ryo-jitsi.conf.tmp-{dead}"),
        format!("/etc/.turnserver.conf.tmp-{dead}"),
        format!("/var/lib/prosody/auth%2emeet%2eexample%2etest/accounts/.focus.dat.tmp-{dead}"),
    ];
    for path in &stale {
        root.write(path, "half written");
    }
    // A live writer's temporary (this test process is not the agent), and names that only
    // look similar, stay.
    let kept = [
        format!("/var/lib/meet-agent/.idle.json.tmp-{}", std::process::id()),
        "/var/lib/meet-agent/.notes.tmp-x1".to_string(),
        format!("/var/lib/meet-agent/notes.tmp-{dead}"),
    ];
    for path in &kept {
        root.write(path, "in use");
    }
    // A link at a temporary name goes as a link; what it points at stays.
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "keep me").unwrap();
    let link = root.join(&format!("/etc/meet-agent/.firewall.nft.tmp-{dead}"));
    std::os::unix::fs::symlink(&victim, &link).unwrap();

    let out = root.run(&["run", "--step", "identity"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for path in &stale {
        assert!(!root.join(path).exists(), "{path} removed");
    }
    for path in &kept {
        assert!(root.join(path).exists(), "{path} kept");
    }
    assert!(link.symlink_metadata().is_err(), "the link removed");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    assert_eq!(std::fs::metadata(&victim).unwrap().uid(), 0);
}

/// Starts `meet-agent run` against a systemd that never answers, and kills it once the
/// run asks systemd anything (the start step: every file is written by then).
async fn run_killed_at_first_call(root: &Root) {
    let hanging = Bus::start();
    let systemd = standin(&hanging, true).await;
    let mut child = agent(root, &hanging, &["run"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    // The firewall step, the run's second, asks first about its own unit: that call times
    // out (5 s) and leaves the ruleset to the start step. The kill comes at the first call
    // about another unit, once the run has written the stack's files.
    let about_the_stack = |calls: &[String]| {
        calls
            .iter()
            .any(|c| !c.contains("meet-agent-firewall.service"))
    };
    while !about_the_stack(&systemd.calls.lock().unwrap()) {
        assert!(Instant::now() < deadline, "the run never asked systemd");
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_rewritten_by_a_killed_run_is_reloaded_and_restarted_by_the_next() {
    let root = Root::new();
    site(&root, &TestCa::new());
    root.config("20-idle.toml", "[schedule]\nidle_shutdown_minutes = 30\n");
    let bus = Bus::start();
    let systemd = standin(&bus, false).await;
    let out = agent(&root, &bus, &["run"]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        methods(&systemd)
            .iter()
            .any(|c| c.ends_with(" meet-agent-idle.timer")),
        "the timer runs: {:?}",
        methods(&systemd)
    );

    // A new idle limit: the timer file is rewritten, and the run killed before systemd
    // re-read it.
    root.config("20-idle.toml", "[schedule]\nidle_shutdown_minutes = 45\n");
    let timer = root.join("/etc/systemd/system/meet-agent-idle.timer");
    let before = std::fs::read(&timer).unwrap();
    run_killed_at_first_call(&root).await;
    assert_ne!(
        std::fs::read(&timer).unwrap(),
        before,
        "the timer was rewritten"
    );

    // The next run finds the file as wanted, and still has systemd re-read and restart it.
    systemd.clear();
    let out = agent(&root, &bus, &["run"]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let seen = methods(&systemd);
    assert!(seen.contains(&"Reload".to_string()), "{seen:?}");
    assert!(
        seen.contains(&"RestartUnit meet-agent-idle.timer".to_string()),
        "{seen:?}"
    );

    // Once taken, nothing is left: a plain start (at boot) again.
    systemd.clear();
    let out = agent(&root, &bus, &["run"]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let seen = methods(&systemd);
    assert!(!seen.contains(&"Reload".to_string()), "{seen:?}");
    assert!(
        seen.contains(&"StartUnit meet-agent-idle.timer".to_string()),
        "{seen:?}"
    );
}
