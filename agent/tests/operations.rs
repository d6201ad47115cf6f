//! Operations against real peers on loopback: the stats readers against an HTTP server
//! serving the videobridge's and jicofo's statistics in their recorded shapes; idle and
//! scheduled shutdown against a private D-Bus with stand-ins for logind and systemd's
//! Manager (asserting the calls made: power off only when idle, timers installed); timer
//! units checked by `systemd-analyze verify`; first-boot updates with the real apt-get
//! against a dead and a live loopback mirror.

#[path = "common/bus.rs"]
mod bus;
mod common;
#[path = "common/logind.rs"]
mod logind;
use bus::Bus;
use common::{text, Root};
use meet_agent::ops::stats::{self, Endpoints};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zbus::zvariant::OwnedObjectPath;

/// What the stand-ins saw, in order: D-Bus calls and HTTP requests.
type Calls = Arc<Mutex<Vec<String>>>;

/// The videobridge's `/colibri/stats` as jitsi-videobridge2 2.3 answers it (abridged).
fn bridge_stats(conferences: u64, participants: u64) -> String {
    format!(
        r#"{{"inactive_endpoints":0,"incoming_loss":0.0,"conferences":{conferences},"endpoints":{participants},"participants":{participants},"largest_conference":{participants},"graceful_shutdown":false,"threads":63,"rtt_aggregate":0.0,"stress_level":0.01,"version":"2.3.160"}}"#
    )
}

/// jicofo's `/stats` (abridged).
fn jicofo_stats(conferences: u64, participants: u64) -> String {
    format!(
        r#"{{"bridge_selector":{{"bridge_count":1,"operational_bridge_count":1}},"conferences":{conferences},"participants":{participants},"largest_conference":{participants},"total_conferences_created":3}}"#
    )
}

/// A loopback HTTP server answering `/colibri/stats`, `/stats` and `/colibri/shutdown`
/// from `bodies` (path -> JSON), recording each request line in `calls`.
struct StatsServer {
    port: u16,
    bodies: Arc<Mutex<BTreeMap<String, String>>>,
}

impl StatsServer {
    fn start(calls: Calls, conferences: u64) -> Self {
        let bodies: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
        let served = bodies.clone();
        let port = common::serve_http_thread(move |line| {
            let path = line.split_whitespace().nth(1).unwrap_or("");
            let method = line.split_whitespace().next().unwrap_or("");
            calls.lock().unwrap().push(format!("HTTP {method} {path}"));
            match served.lock().unwrap().get(path) {
                Some(body) => (200, body.clone()),
                None => (404, String::new()),
            }
        });
        let server = Self { port, bodies };
        server.set(conferences);
        server
    }

    fn set(&self, conferences: u64) {
        let mut b = self.bodies.lock().unwrap();
        b.insert(
            "/colibri/stats".into(),
            bridge_stats(conferences, conferences * 4),
        );
        b.insert("/stats".into(), jicofo_stats(conferences, conferences * 4));
        b.insert("/colibri/shutdown".into(), "{}".into());
    }

    fn endpoints(&self) -> Endpoints {
        Endpoints {
            videobridge: format!("http://127.0.0.1:{}/colibri/stats", self.port),
            jicofo: format!("http://127.0.0.1:{}/stats", self.port),
        }
    }

    fn config(&self) -> String {
        let e = self.endpoints();
        format!(
            "videobridge_stats_url = \"{}\"\njicofo_stats_url = \"{}\"\n",
            e.videobridge, e.jicofo
        )
    }
}

/// A port nothing listens on.
fn dead_port() -> u16 {
    common::free_port()
}

#[tokio::test]
async fn stats_readers_understand_both_services() {
    let calls = Calls::default();
    let busy = StatsServer::start(calls.clone(), 2);
    let a = stats::read(&busy.endpoints()).await;
    assert_eq!((a.conferences, a.participants), (2, 8));
    assert!(!a.idle());
    assert_eq!(a.answered, ["videobridge", "jicofo"]);

    busy.set(0);
    assert!(stats::read(&busy.endpoints()).await.idle());

    // Only jicofo answers: its count decides.
    busy.set(1);
    let mut one = busy.endpoints();
    one.videobridge = format!("http://127.0.0.1:{}/colibri/stats", dead_port());
    let a = stats::read(&one).await;
    assert_eq!((a.conferences, a.answered.len()), (1, 1));
    assert!(a.silent[0].starts_with("videobridge: not running"), "{a:?}");

    // Neither answers (the stack is not installed or not running): no meeting can run.
    let none = Endpoints {
        videobridge: format!("http://127.0.0.1:{}/colibri/stats", dead_port()),
        jicofo: format!("http://127.0.0.1:{}/stats", dead_port()),
    };
    let a = stats::read(&none).await;
    assert!(a.idle());
    assert!(
        a.summary()
            .contains("neither the videobridge nor jicofo answers"),
        "{}",
        a.summary()
    );
}

/// Stand-in for the systemd Manager methods the schedule step calls.
struct Manager {
    calls: Calls,
}

fn job() -> zbus::fdo::Result<OwnedObjectPath> {
    OwnedObjectPath::try_from("/org/freedesktop/systemd1/job/1")
        .map_err(|e| zbus::fdo::Error::Failed(e.to_string()))
}

#[zbus::interface(name = "org.freedesktop.systemd1.Manager")]
impl Manager {
    fn reload(&self) {
        self.calls.lock().unwrap().push("Reload".into());
    }
    fn start_unit(&self, name: &str, _mode: &str) -> zbus::fdo::Result<OwnedObjectPath> {
        self.calls.lock().unwrap().push(format!("StartUnit {name}"));
        job()
    }
    fn restart_unit(&self, name: &str, _mode: &str) -> zbus::fdo::Result<OwnedObjectPath> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("RestartUnit {name}"));
        job()
    }
    fn stop_unit(&self, name: &str, _mode: &str) -> zbus::fdo::Result<OwnedObjectPath> {
        self.calls.lock().unwrap().push(format!("StopUnit {name}"));
        job()
    }
}

/// Serves both stand-ins on `bus`, recording into `calls`.
async fn standins(bus: &Bus, calls: &Calls) -> (logind::Logind, zbus::Connection) {
    let login = logind::Logind::serve(&bus.address, Some(calls.clone())).await;
    let systemd = zbus::connection::Builder::address(bus.address.as_str())
        .unwrap()
        .name("org.freedesktop.systemd1")
        .unwrap()
        .serve_at(
            "/org/freedesktop/systemd1",
            Manager {
                calls: calls.clone(),
            },
        )
        .unwrap()
        .build()
        .await
        .unwrap();
    (login, systemd)
}

fn site(extra: &str) -> Root {
    let root = Root::new();
    root.write("/etc/machine-id", "0123456789abcdef0123456789abcdef\n");
    root.config(
        "00.toml",
        &format!("[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\n[updates]\nfirst_boot = false\n{extra}"),
    );
    // One-second "minutes" (the test harness's key), in a file of its own so that `extra`
    // may have a [schedule] of its own.
    root.config("99-minutes.toml", "[schedule]\nminute_seconds = 1\n");
    root
}

/// Runs the agent with the private bus (the site's "minutes" last a second).
async fn agent(root: &Root, bus: &Bus, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_meet-agent"))
        .arg("--root")
        .arg(root.path())
        .args(args)
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .output()
        .await
        .unwrap()
}

fn dbus_calls(calls: &Calls) -> Vec<String> {
    calls
        .lock()
        .unwrap()
        .iter()
        .filter(|c| !c.starts_with("HTTP"))
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_check_powers_off_only_after_the_idle_time() {
    let bus = Bus::start();
    let calls = Calls::default();
    let _standins = standins(&bus, &calls).await;
    let stats = StatsServer::start(calls.clone(), 1);
    let root = site(&format!(
        "[schedule]\nidle_shutdown_minutes = 2\n{}",
        stats.config()
    ));

    // A conference runs: no power off, and status says why.
    let out = agent(&root, &bus, &["idle-check"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(dbus_calls(&calls).is_empty(), "{:?}", calls.lock().unwrap());
    let status = agent(&root, &bus, &["status"]).await;
    assert!(
        String::from_utf8_lossy(&status.stdout)
            .contains("idle         not idle: 1 conferences, 4 participants"),
        "{}",
        text(&status)
    );

    // It ends: the idle clock starts; not yet due.
    stats.set(0);
    agent(&root, &bus, &["idle-check"]).await;
    assert!(dbus_calls(&calls).is_empty());
    tokio::time::sleep(Duration::from_millis(2200)).await;
    // While `meet-agent run` holds its lock (a long first boot), the clock waits.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(root.join("/var/lib/meet-agent/run.lock"))
        .unwrap();
    let held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive).unwrap();
    agent(&root, &bus, &["idle-check"]).await;
    assert!(dbus_calls(&calls).is_empty(), "{:?}", calls.lock().unwrap());
    drop(held);
    // Two "minutes" later: powered off, once.
    let out = agent(&root, &bus, &["idle-check"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(dbus_calls(&calls), ["PowerOff false"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_shutdown_waits_for_meetings_then_drains_the_bridge() {
    let bus = Bus::start();
    let calls = Calls::default();
    let _standins = standins(&bus, &calls).await;
    let stats = StatsServer::start(calls.clone(), 1);
    let root = site(&format!(
        "[schedule]\npostpone_minutes = 1\npostpone_limit_minutes = 3\n{}",
        stats.config()
    ));
    let started = Instant::now();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_meet-agent"))
        .arg("--root")
        .arg(root.path())
        .args(["shutdown", "--reason", "scheduled"])
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Postponed, and status says so.
    let status = agent(&root, &bus, &["status", "--json"]).await;
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let shutdown = &json["operations"]["shutdown"];
    assert_eq!(shutdown["state"], "waiting", "{json:#}");
    assert!(
        shutdown["message"]
            .as_str()
            .unwrap()
            .starts_with("power off postponed: 1 conferences, 4 participants"),
        "{shutdown}"
    );
    assert!(dbus_calls(&calls).is_empty());

    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let elapsed = started.elapsed();
    let seen = calls.lock().unwrap().clone();
    let drain = seen
        .iter()
        .position(|c| c == "HTTP POST /colibri/shutdown")
        .expect("graceful shutdown asked");
    let off = seen
        .iter()
        .position(|c| c == "PowerOff false")
        .expect("powered off");
    assert!(drain < off, "{seen:?}");
    // The limit (3) and then one step (1) with the conference still running.
    assert!(elapsed >= Duration::from_secs(4), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_with_no_meeting_is_immediate_and_a_reboot_gives_up_rather_than_cut_one() {
    let bus = Bus::start();
    let calls = Calls::default();
    let _standins = standins(&bus, &calls).await;
    let stats = StatsServer::start(calls.clone(), 0);
    let root = site(&format!(
        "[schedule]\npostpone_minutes = 1\npostpone_limit_minutes = 2\n{}",
        stats.config()
    ));
    let out = agent(&root, &bus, &["shutdown"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(dbus_calls(&calls), ["PowerOff false"]);
    calls.lock().unwrap().clear();

    // No reboot required: nothing happens.
    let out = agent(&root, &bus, &["shutdown", "--reboot", "--if-required"]).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no reboot required"));
    assert!(dbus_calls(&calls).is_empty());

    // Required, but a meeting runs past the limit: no reboot, and status says so.
    root.write("/run/reboot-required", "*** System restart required ***\n");
    stats.set(1);
    let out = agent(
        &root,
        &bus,
        &[
            "shutdown",
            "--reboot",
            "--if-required",
            "--reason",
            "maintenance window",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(dbus_calls(&calls).is_empty(), "{:?}", calls.lock().unwrap());
    assert!(
        !calls
            .lock()
            .unwrap()
            .iter()
            .any(|c| c.contains("/colibri/shutdown")),
        "a reboot does not drain the bridge"
    );
    let status = agent(&root, &bus, &["status"]).await;
    let screen = String::from_utf8_lossy(&status.stdout);
    assert!(
        screen.contains("reboot not done: meetings outlasted the maintenance window"),
        "{screen}"
    );
    assert!(
        screen.contains("reboot       required by updates"),
        "{screen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_step_installs_verified_timers_and_removes_them_again() {
    let bus = Bus::start();
    let calls = Calls::default();
    let _standins = standins(&bus, &calls).await;
    let root = site("[schedule]\nshutdown = [\"Mon..Fri 20:00\", \"Sat 18:30 UTC\"]\nidle_shutdown_minutes = 30\n");
    root.config(
        "10-window.toml",
        "[updates]\nreboot_window = \"Sun 03:00\"\n",
    );
    let out = agent(&root, &bus, &["run"]).await;
    let step = root.step("schedule");
    assert_eq!(step["state"], "ok", "{}", text(&out));
    let timer = std::fs::read_to_string(root.join("/etc/systemd/system/meet-agent-shutdown.timer"))
        .unwrap();
    assert!(
        timer.contains("OnCalendar=Mon..Fri 20:00\nOnCalendar=Sat 18:30 UTC\n"),
        "{timer}"
    );
    let seen = dbus_calls(&calls);
    for call in [
        "RestartUnit meet-agent-shutdown.timer",
        "RestartUnit meet-agent-idle.timer",
        "RestartUnit meet-agent-maintenance.timer",
    ] {
        assert!(seen.iter().any(|c| c == call), "{call}: {seen:?}");
    }
    // New unit files need no daemon-reload (systemd finds them when asked to start them).
    assert!(!seen.iter().any(|c| c == "Reload"), "{seen:?}");
    assert!(!seen.iter().any(|c| c.starts_with("PowerOff")));

    // A changed schedule: the existing timer is rewritten, so systemd re-reads units first.
    calls.lock().unwrap().clear();
    root.config("20-later.toml", "[schedule]\nidle_shutdown_minutes = 45\n");
    agent(&root, &bus, &["run"]).await;
    let seen = dbus_calls(&calls);
    let reload = seen
        .iter()
        .position(|c| c == "Reload")
        .expect("daemon-reload");
    let restart = seen
        .iter()
        .position(|c| c == "RestartUnit meet-agent-idle.timer")
        .expect("restart");
    assert!(reload < restart, "{seen:?}");
    assert!(
        seen.iter()
            .any(|c| c == "StartUnit meet-agent-shutdown.timer"),
        "unchanged: start: {seen:?}"
    );
    std::fs::remove_file(root.join("/etc/meet-agent/config.d/20-later.toml")).unwrap();

    // Each rendered timer with its shipped service passes systemd-analyze verify.
    let dir = root.join("/tmp/units");
    std::fs::create_dir_all(&dir).unwrap();
    let mut checked = Vec::new();
    for name in [
        "meet-agent-shutdown",
        "meet-agent-idle",
        "meet-agent-maintenance",
    ] {
        std::fs::copy(
            root.join(&format!("/etc/systemd/system/{name}.timer")),
            dir.join(format!("{name}.timer")),
        )
        .unwrap();
        common::shipped_unit(&dir, &format!("{name}.service"));
        checked.push(dir.join(format!("{name}.timer")));
    }
    let (ok, said) = common::verify_units(&checked);
    // Outside a booted systemd it may note that; anything about our units is a failure.
    assert!(ok && !said.contains("meet-agent"), "{said}");

    // Unset: the timers are stopped and their files removed.
    calls.lock().unwrap().clear();
    root.config(
        "00.toml",
        "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\n",
    );
    std::fs::remove_file(root.join("/etc/meet-agent/config.d/10-window.toml")).unwrap();
    agent(&root, &bus, &["run"]).await;
    assert!(!root
        .join("/etc/systemd/system/meet-agent-shutdown.timer")
        .exists());
    let seen = dbus_calls(&calls);
    assert!(
        seen.iter()
            .any(|c| c == "StopUnit meet-agent-shutdown.timer"),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|c| c == "StopUnit meet-agent-maintenance.timer"),
        "{seen:?}"
    );
    assert_eq!(root.step("schedule")["state"], "not-configured");
}

#[test]
fn an_invalid_calendar_expression_is_a_config_error_in_systemds_words() {
    let root = site("[schedule]\nshutdown = [\"weekdays at eight\"]\n");
    let out = root.run(&["config", "check"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        said.contains("schedule.shutdown")
            && said.contains("`weekdays at eight` is not a systemd calendar expression"),
        "{said}"
    );
    assert_eq!(said.trim().lines().count(), 1, "{said}");
    // At boot only the schedule step fails; the rest of the server is set up.
    root.run(&["run"]);
    let schedule = root.step("schedule");
    assert_eq!(schedule["state"], "failed", "{schedule}");
    assert!(
        schedule["message"]
            .as_str()
            .unwrap()
            .contains("timers left unchanged"),
        "{schedule}"
    );
    assert_eq!(root.step("jitsi")["state"], "ok");
    assert!(!root
        .join("/etc/systemd/system/meet-agent-shutdown.timer")
        .exists());
}

/// A fixture root where the real apt-get works (`-o Dir=`): sources pointing at `mirror`.
fn apt_root(mirror: &str) -> Root {
    let root = site("");
    root.config("00.toml", "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\n[updates]\nfirst_boot = true\nfirst_boot_timeout_seconds = 60\n");
    root.write(
        "/etc/apt/sources.list",
        format!("deb [trusted=yes] {mirror} ./\n"),
    );
    for dir in [
        "/var/lib/apt/lists/partial",
        "/var/cache/apt/archives/partial",
        "/etc/apt/apt.conf.d",
        "/etc/apt/preferences.d",
    ] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    root.write("/var/lib/dpkg/status", "");
    // apt would hand downloads to the _apt user, who cannot write below the test folder.
    root.write(
        "/etc/apt/apt.conf.d/00test",
        "APT::Sandbox::User \"root\";\n",
    );
    root
}

#[test]
fn first_boot_updates_report_an_unreachable_mirror_and_do_not_block() {
    let root = apt_root(&format!("http://127.0.0.1:{}/debian", dead_port()));
    let started = Instant::now();
    let out = root.run(&["run"]);
    let updates = root.step("updates");
    assert_eq!(updates["state"], "degraded", "{}", text(&out));
    let message = updates["message"].as_str().unwrap();
    assert!(message.starts_with("security updates not applied: apt-get update (the package mirror is unreachable?) failed"), "{message}");
    assert!(
        message.contains("127.0.0.1"),
        "apt's reason names the mirror: {message}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    // The rest of the run went on: the start step ran after it.
    assert_ne!(root.step("start")["state"], "pending");
    // Later boots keep showing the first boot's result, the last daily run and a pending
    // reboot.
    root.run(&["run"]);
    let later = root.step("updates");
    assert_eq!(later["state"], "ok", "{later}");
    let message = later["message"].as_str().unwrap();
    assert!(
        message.contains("first boot: degraded at ")
            && message.contains("security updates not applied"),
        "{message}"
    );
    assert!(message.contains("no daily run yet"), "{message}");
    root.write("/var/lib/apt/periodic/unattended-upgrades-stamp", "");
    root.write("/run/reboot-required", "");
    root.run(&["run"]);
    let message = root.message("updates");
    assert!(
        message.contains("last daily run 20") && message.contains("a reboot is pending"),
        "{message}"
    );
    let conf =
        std::fs::read_to_string(root.join("/etc/apt/apt.conf.d/60ryo-jitsi-upgrades")).unwrap();
    assert!(
        conf.contains("APT::Periodic::Unattended-Upgrade \"1\";")
            && conf.contains("\"jitsi-videobridge2\";"),
        "{conf}"
    );
}

#[test]
fn first_boot_updates_against_a_live_mirror() {
    // A flat repository with an empty package index, served on loopback.
    let port = common::serve_http_thread(|line| {
        let path = line.split_whitespace().nth(1).unwrap_or("");
        (
            if path.ends_with("/Packages") {
                200
            } else {
                404
            },
            String::new(),
        )
    });
    let root = apt_root(&format!("http://127.0.0.1:{port}/debian"));
    let out = root.run(&["run"]);
    let updates = root.step("updates");
    assert_eq!(updates["state"], "ok", "{}", text(&out));
    let message = updates["message"].as_str().unwrap();
    assert!(
        message.contains("package lists updated") && message.contains("0 security updates pending"),
        "{message}"
    );
}

/// apt's own parser (`apt-config dump`) reads the rendered daily-upgrade configuration.
fn apt_config(root: &Root) -> String {
    let out = std::process::Command::new("apt-config")
        .arg("-c")
        .arg(root.join("/etc/apt/apt.conf.d/60ryo-jitsi-upgrades"))
        .arg("dump")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn daily_upgrades_hold_or_include_the_jitsi_packages() {
    let held = site("");
    held.run(&["run"]);
    let dump = apt_config(&held);
    assert!(
        dump.contains("APT::Periodic::Unattended-Upgrade \"1\";"),
        "{dump}"
    );
    assert!(
        dump.contains("Unattended-Upgrade::Automatic-Reboot \"false\";"),
        "{dump}"
    );
    assert!(
        dump.contains("Unattended-Upgrade::Package-Blacklist:: \"jitsi-videobridge2\";"),
        "{dump}"
    );

    let included = Root::new();
    included.config(
        "00.toml",
        "[source]\nprovider = \"none\"\n[updates]\nfirst_boot = false\ninclude_jitsi = true\ndaily = false\n",
    );
    included.run(&["run"]);
    let dump = apt_config(&included);
    assert!(
        dump.contains("Unattended-Upgrade::Origins-Pattern:: \"site=download.jitsi.org\";"),
        "{dump}"
    );
    assert!(!dump.contains("Package-Blacklist:: \"jicofo\""), "{dump}");
    assert!(
        dump.contains("APT::Periodic::Unattended-Upgrade \"0\";"),
        "{dump}"
    );
}
