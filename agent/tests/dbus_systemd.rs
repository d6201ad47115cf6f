//! The D-Bus side on a private bus: a dbus-daemon started for the test, and a stand-in for
//! systemd serving the Manager methods and Unit properties meet-agent uses
//! (tests/common/systemd.rs; systemd itself cannot run as PID 1 on the development
//! machines; the boot tests use the real one).

#[path = "common/bus.rs"]
mod bus;
mod common;
#[path = "common/systemd.rs"]
mod systemd;
use bus::Bus;
use common::{text, Root, TestCa};
use std::collections::BTreeMap;
use systemd::{Calls, UnitState, Units};

/// Serves the stand-in systemd on `bus`: nginx installed and in `nginx_state`, the rest of
/// the stack not installed (as in an image holding only the agent and nginx).
async fn standin(bus: &Bus, nginx_state: &str) -> (systemd::Systemd, Units, Calls) {
    let mut map = BTreeMap::new();
    for unit in meet_agent::systemd::STACK_UNITS {
        let state = if unit == "nginx.service" {
            UnitState::installed(nginx_state, "enabled")
        } else {
            UnitState::missing()
        };
        map.insert(unit.to_string(), state);
    }
    let standin = systemd::Systemd::serve(&bus.address, map).await;
    let (units, calls) = (standin.units.clone(), standin.calls.clone());
    (standin, units, calls)
}

async fn agent(root: &Root, bus: &Bus, args: &[&str]) -> std::process::Output {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_meet-agent"))
        .arg("--root")
        .arg(root.path())
        .args(args)
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .env_remove("NOTIFY_SOCKET")
        .output()
        .await
        .unwrap();
    out
}

fn supplied_site(root: &Root, ca: &TestCa) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supplied_certificate_on_agent_and_nginx_image_is_healthy() {
    let bus = Bus::start();
    let (_conn, _units, calls) = standin(&bus, "inactive").await;
    let root = Root::new();
    supplied_site(&root, &TestCa::new());

    let out = agent(&root, &bus, &["run"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let calls_now = calls.lock().unwrap().clone();
    assert!(
        calls_now.contains(&"StartUnit nginx.service replace".to_string()),
        "{calls_now:?}"
    );
    assert!(
        !calls_now.iter().any(|c| c.starts_with("StartUnit prosody")),
        "missing units are not started"
    );
    let start = root.step("start");
    assert_eq!(start["state"], "ok", "{start}");
    assert!(start["message"].as_str().unwrap().contains(
        "not installed: meet-agent-firewall, prosody, jicofo, jitsi-videobridge2, coturn"
    ));

    let out = agent(&root, &bus, &["status", "--json"]).await;
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{status:#}");
    assert_eq!(status["health"], "healthy");
    assert_eq!(status["services"]["available"], true);
    let nginx = status["services"]["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "nginx.service")
        .unwrap()
        .clone();
    assert_eq!(nginx["active_state"], "active");
    assert_eq!(nginx["sub_state"], "running");

    let human = agent(&root, &bus, &["status"]).await;
    let screen = String::from_utf8_lossy(&human.stdout);
    assert!(screen.starts_with("meet-agent: healthy"), "{screen}");
    assert!(
        screen.contains("nginx.service               active (running)"),
        "{screen}"
    );
    assert!(
        screen.contains("prosody.service             not installed"),
        "{screen}"
    );
    assert!(screen.lines().count() <= 40, "fits one screen: {screen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_certificate_reloads_running_consumers_and_an_unchanged_one_does_not() {
    let bus = Bus::start();
    let (_conn, _units, calls) = standin(&bus, "active").await;
    let root = Root::new();
    let ca = TestCa::new();
    supplied_site(&root, &ca);
    assert_eq!(agent(&root, &bus, &["run"]).await.status.code(), Some(0));
    assert!(calls
        .lock()
        .unwrap()
        .contains(&"ReloadUnit nginx.service replace".to_string()));
    // Default tuning and no timers: no unit file changed, so no daemon-reload (the heap is
    // in an environment file the shipped drop-ins read).
    assert!(
        !calls.lock().unwrap().iter().any(|c| c == "Reload"),
        "{:?}",
        calls.lock().unwrap()
    );
    assert!(
        !calls
            .lock()
            .unwrap()
            .iter()
            .any(|c| c.starts_with("StartUnit")),
        "reload, not restart"
    );

    calls.lock().unwrap().clear();
    assert_eq!(agent(&root, &bus, &["run"]).await.status.code(), Some(0));
    assert!(
        !calls
            .lock()
            .unwrap()
            .iter()
            .any(|c| c.starts_with("ReloadUnit") || c == "Reload"),
        "nothing changed: {:?}",
        calls.lock().unwrap()
    );

    supplied_site(&root, &ca); // a new leaf
    assert_eq!(
        agent(&root, &bus, &["run", "--step", "tls"])
            .await
            .status
            .code(),
        Some(0)
    );
    assert!(
        calls
            .lock()
            .unwrap()
            .contains(&"ReloadUnit nginx.service replace".to_string()),
        "--step tls reloads too"
    );
    assert!(root.message("tls").as_str().contains("reloaded nginx"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_service_makes_status_degraded_with_the_unit_named() {
    let bus = Bus::start();
    let (_conn, units, _calls) = standin(&bus, "active").await;
    let root = Root::new();
    supplied_site(&root, &TestCa::new());
    assert_eq!(agent(&root, &bus, &["run"]).await.status.code(), Some(0));
    units
        .lock()
        .unwrap()
        .get_mut("nginx.service")
        .unwrap()
        .active = "failed".into();
    let out = agent(&root, &bus, &["status", "--json"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        status["reasons"]
            .to_string()
            .contains("nginx.service: failed"),
        "{status}"
    );
}

#[test]
fn without_a_system_bus_status_says_so_in_one_line_and_does_not_fail() {
    let root = Root::new();
    root.config(
        "00.toml",
        "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\n",
    );
    root.run(&["run"]);
    let out = root.run(&["status"]);
    let screen = String::from_utf8_lossy(&out.stdout);
    let line = screen
        .lines()
        .find(|l| l.contains("unknown: no system D-Bus"))
        .unwrap_or_else(|| panic!("{screen}"));
    assert!(line.contains("/nonexistent/meet-agent-test-bus"), "{line}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "degraded, not an error: {}",
        text(&out)
    );
}

#[test]
fn an_offline_image_says_which_jitsi_packages_it_lacks() {
    let root = Root::new();
    root.config(
        "00.toml",
        "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\n",
    );
    root.write(
        "/usr/share/ryo-jitsi/image.json",
        r#"{"os":"debian 12","jitsi_repository":"off","missing_packages":["jicofo","jitsi-videobridge2","jitsi-meet-web"],"built_at":"2026-11-21T06:00:00Z"}"#,
    );
    root.run(&["run"]);
    let (_, status) = root.status_json(&[]);
    assert_eq!(status["image"]["missing_packages"][1], "jitsi-videobridge2");
    // Informational: what the image is, not a fault of this instance.
    assert!(
        !status["reasons"].to_string().contains("jicofo"),
        "{status}"
    );
    let screen = String::from_utf8_lossy(&root.run(&["status"]).stdout).into_owned();
    assert!(
        screen.contains("image        debian 12, built 2026-11-21T06:00:00Z, without jicofo"),
        "{screen}"
    );
}

/// The host firewall's unit is started or reloaded by the firewall step itself, the run's
/// second, which waits for the load: at a first boot the rules then hold before the run
/// talks to the network, and the stack's starts (ordered after the unit by systemd) no
/// longer wait for `nft -f` after READY. A run of the firewall step alone reloads a
/// running unit for a changed ruleset but starts nothing. A unit that fails to load the
/// file fails the step, saying where to look.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_firewall_step_loads_its_ruleset_before_the_start_step() {
    let bus = Bus::start();
    let (_conn, units, calls) = standin(&bus, "inactive").await;
    units.lock().unwrap().insert(
        "meet-agent-firewall.service".into(),
        UnitState::installed("inactive", "enabled"),
    );
    let root = Root::new();
    supplied_site(&root, &TestCa::new());
    let firewall_calls = |calls: &Calls| -> Vec<String> {
        calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.contains("meet-agent-firewall"))
            .cloned()
            .collect()
    };

    // The step alone, the unit stopped: the ruleset is written, nothing is started.
    let out = agent(&root, &bus, &["run", "--step", "firewall"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let message = root.message("firewall");
    assert!(
        message.ends_with("(ruleset rewritten; loaded when meet-agent-firewall next starts)"),
        "{message}"
    );
    assert!(
        !firewall_calls(&calls)
            .iter()
            .any(|c| c.starts_with("StartUnit")),
        "{:?}",
        calls.lock().unwrap()
    );

    // A whole run: the firewall step starts the unit before the start step asks about the
    // stack (it asks about every service before it starts any).
    let before = calls.lock().unwrap().len();
    let out = agent(&root, &bus, &["run"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let all = calls.lock().unwrap()[before..].to_vec();
    let at = |call: &str| all.iter().position(|c| c.starts_with(call));
    let firewall_start = at("StartUnit meet-agent-firewall.service").expect("started");
    let nginx_asked = at("LoadUnit nginx.service").expect("nginx asked about");
    assert!(firewall_start < nginx_asked, "{all:?}");
    assert!(
        all.contains(&"StartUnit nginx.service replace".to_string()),
        "{all:?}"
    );
    assert_eq!(
        firewall_calls(&calls)
            .iter()
            .filter(|c| c.starts_with("StartUnit"))
            .count(),
        1
    );
    let start = root.message("start");
    assert!(
        start.contains("already running meet-agent-firewall"),
        "{start}"
    );

    // A changed ruleset in a run of the step alone: reloaded there, once; nothing started.
    root.config("20-firewall.toml", "[firewall]\nallow_tcp = [8443]\n");
    let before = calls.lock().unwrap().len();
    let out = agent(&root, &bus, &["run", "--step", "firewall"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let new: Vec<String> = calls.lock().unwrap()[before..].to_vec();
    assert_eq!(
        new.iter()
            .filter(|c| c.starts_with("StartUnit")
                || c.starts_with("ReloadUnit")
                || c.starts_with("RestartUnit"))
            .collect::<Vec<_>>(),
        ["ReloadUnit meet-agent-firewall.service replace"],
        "{new:?}"
    );
    let message = root.message("firewall");
    assert!(
        message.ends_with("(ruleset rewritten; meet-agent-firewall reloaded)"),
        "{message}"
    );

    // The unit fails to load a new ruleset: the step fails and says where to look.
    if let Some(unit) = units.lock().unwrap().get_mut("meet-agent-firewall.service") {
        unit.active = "inactive".into();
        unit.fails_to_start = true;
    }
    root.config("20-firewall.toml", "[firewall]\nallow_tcp = [8444]\n");
    let out = agent(&root, &bus, &["run"]).await;
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    let step = root.step("firewall");
    assert_eq!(step["state"], "failed", "{step}");
    assert!(
        step["message"]
            .as_str()
            .unwrap_or_default()
            .contains("meet-agent-firewall.service failed to load /etc/meet-agent/firewall.nft: `journalctl -u meet-agent-firewall.service` says why"),
        "{step}"
    );
}
