//! A machine with `server.role = "videobridge"`, below a test root:
//! - `run` renders only the bridge: jvb.conf joins the token's signaling node (its host
//!   or `bridge.signaling_host`) with the token's account, verifies the certificate, and
//!   uses the instance's nickname and region; the token's certificate becomes a trust
//!   anchor; no prosody, jicofo, coturn or nginx file is written; the firewall opens media
//!   (and SSH) only;
//! - `status` shows whether the bridge has joined, from the bridge's own `/colibri/stats`
//!   on loopback: a stand-in speaking that API (jitsi-videobridge2 cannot be installed
//!   here) runs in a network namespace of the test's own, so its port 8080 is the test's;
//! - the start step, against a systemd stand-in on a private D-Bus: the services a role
//!   does not run are stopped and disabled (so they stay down at the next boot even if the
//!   configuration cannot be loaded then), those it runs are started but never enabled
//!   (the image keeps the stack disabled: the agent starts it each boot), and
//!   meet-agent-scale.service runs only while the configuration wants it;
//! - bad input: a truncated token, another domain's token and a web key on a bridge are
//!   each one line naming the key, and nothing is written.

#[path = "common/bus.rs"]
mod bus;
mod common;
#[path = "common/systemd.rs"]
mod systemd;
use common::{text, Ns, Root};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DOMAIN: &str = "meet.example.test";

fn token() -> meet_agent::bridge::token::Token {
    let pair =
        meet_agent::bridge::xmpp_cert::generate(DOMAIN, time::OffsetDateTime::now_utc()).unwrap();
    // An address, not a name: status probes the signaling node, and a name would be
    // resolved through this machine's DNS (tests send nothing beyond loopback).
    meet_agent::bridge::token::Token::new(
        "127.0.0.1",
        5222,
        DOMAIN,
        "the-deployment-jvb-password",
        &pair.chain_pem(),
    )
    .unwrap()
}

fn bridge_root(token: &str, extra: &str) -> Root {
    Root::bridge(DOMAIN, token, extra)
}

#[test]
fn a_bridge_renders_only_the_bridge_joined_to_its_signaling_node() {
    let t = token();
    let root = bridge_root(
        &t.encode(),
        "signaling_host = \"10.0.0.9\"\nregion = \"eu-central-1\"\n",
    );
    let out = root.run(&["run"]);
    assert_eq!(
        root.step("jitsi")["state"],
        "ok",
        "{}\n{}",
        root.step("jitsi"),
        text(&out)
    );
    let jvb = std::fs::read_to_string(root.join(meet_agent::jitsi::videobridge::CONF)).unwrap();
    for wanted in [
        "HOSTNAME = \"10.0.0.9\"",
        "PORT = 5222",
        "DOMAIN = \"auth.meet.example.test\"",
        "PASSWORD = \"the-deployment-jvb-password\"",
        "MUC_JIDS = \"JvbBrewery@internal.auth.meet.example.test\"",
        "region = \"eu-central-1\"",
    ] {
        assert!(jvb.contains(wanted), "{wanted} missing:\n{jvb}");
    }
    assert!(!jvb.contains("DISABLE_CERTIFICATE_VERIFICATION"), "{jvb}");
    // Bridges share the jvb account: the nickname and relay id are this instance's (here
    // its machine-id, no instance source being configured).
    let nick = "jvb-77777777777777777777777777777777";
    for wanted in [
        format!("MUC_NICKNAME = \"{nick}\""),
        "relay {\n    enabled = true".to_string(),
        format!("relay-id = \"{nick}\""),
    ] {
        assert!(jvb.contains(&wanted), "{wanted} missing:\n{jvb}");
    }
    let anchor_path = meet_agent::bridge::trust::anchor(t.certificate_pem());
    let anchor = std::fs::read_to_string(root.join(&anchor_path)).unwrap();
    assert_eq!(anchor, t.certificate_pem());
    for absent in [
        meet_agent::jitsi::prosody::PATH,
        meet_agent::jitsi::jicofo::CONF,
        meet_agent::jitsi::coturn::PATH,
        meet_agent::jitsi::nginx::SITE,
    ] {
        assert!(
            !root.join(absent).exists(),
            "{absent} was written on a bridge"
        );
    }
    let jitsi = root.message("jitsi");
    assert!(
        jitsi.contains("joins 10.0.0.9:5222 as jvb-") && jitsi.contains(&t.fingerprint()),
        "{jitsi}"
    );
    assert!(!jitsi.contains(t.password()), "{jitsi}");
    let firewall = root.message("firewall");
    assert!(
        firewall.starts_with("inbound open: udp 10000;")
            || firewall.starts_with("inbound open: tcp 22; udp 10000;"),
        "{firewall}"
    );
    // The token never reaches the state file, the log or status.
    let state = std::fs::read_to_string(root.join("/var/lib/meet-agent/state.json")).unwrap();
    assert!(!state.contains(&t.encode()) && !state.contains(t.password()));
    assert!(!text(&out).contains(t.password()));

    // Another token (a new deployment certificate): the old anchor goes, the new one comes,
    // under a new name, so Debian's hooks (Java's store) hear of both changes.
    let t2 = token();
    root.config(
        "00.toml",
        &format!(
            "[source]\nprovider = \"none\"\n[server]\ndomain = \"{DOMAIN}\"\nrole = \"videobridge\"\n\
             [bridge]\njoin = \"{}\"\n",
            t2.encode()
        ),
    );
    let out = root.run(&["run"]);
    assert_eq!(root.step("jitsi")["state"], "ok", "{}", text(&out));
    assert!(!root.join(&anchor_path).exists(), "the old anchor stayed");
    let new_anchor = meet_agent::bridge::trust::anchor(t2.certificate_pem());
    assert_ne!(new_anchor, anchor_path);
    assert_eq!(
        std::fs::read_to_string(root.join(&new_anchor)).unwrap(),
        t2.certificate_pem()
    );
}

#[test]
fn a_broken_or_foreign_token_and_a_web_key_are_refused_naming_the_key() {
    let t = token();
    let encoded = t.encode();
    let other = meet_agent::bridge::token::Token::new(
        "signal.example.org",
        5222,
        "meet.example.org",
        "another-deployment-password",
        &meet_agent::bridge::xmpp_cert::generate(
            "meet.example.org",
            time::OffsetDateTime::now_utc(),
        )
        .unwrap()
        .chain_pem(),
    )
    .unwrap()
    .encode();
    let cases = [
        (encoded[..encoded.len() / 2].to_string(), "", "bridge.join"),
        (other, "", "bridge.join"),
        (encoded.clone(), "[tls]\n", "bridge.join"),
    ];
    for (i, (join, _, key)) in cases.iter().enumerate() {
        let root = bridge_root(join, "");
        if i == 2 {
            root.config("10.toml", "[tls.acme]\nenabled = true\n");
        }
        let out = root.run(&["config", "check"]);
        let said = text(&out);
        assert_eq!(out.status.code(), Some(1), "{said}");
        let line = said
            .lines()
            .find(|l| l.starts_with("meet-agent:"))
            .unwrap_or("");
        let wanted = if i == 2 { "tls.acme.enabled" } else { key };
        assert!(line.contains(&format!("key `{wanted}`")), "{said}");
        assert!(
            !said.contains(t.password()) && !said.contains(&encoded),
            "{said}"
        );
        assert_eq!(
            said.lines()
                .filter(|l| l.starts_with("meet-agent:"))
                .count(),
            1,
            "{said}"
        );
        // Nothing half-configured: `run` renders nothing with such a configuration.
        let _ = root.run(&["run"]);
        assert!(!root.join(meet_agent::jitsi::videobridge::CONF).exists());
    }
}

/// A SIP gateway of its own refuses what cannot work there, naming the key: a bridge's
/// token, no SIP account, the site's dial-in numbers, a drain hook.
#[test]
fn a_sip_gateway_refuses_a_bridge_token_and_keys_it_cannot_use() {
    let pair =
        meet_agent::bridge::xmpp_cert::generate(DOMAIN, time::OffsetDateTime::now_utc()).unwrap();
    let sip_token = meet_agent::bridge::token::Token::for_sip(
        "127.0.0.1",
        5222,
        DOMAIN,
        "the-deployment-jigasi-password",
        &pair.chain_pem(),
    )
    .unwrap()
    .encode();
    let account =
        "[sip]\nserver = \"sip.example.net\"\nusername = \"meet\"\npassword = \"sip-secret\"\n";
    let cases = [
        (token().encode(), account.to_string(), "key `bridge.join`: holds a videobridge's join token, and this machine's role is \"sip\"; print the right one on the signaling node with `meet-agent bridge token --sip`"),
        (sip_token.clone(), String::new(), "key `server.role`: is \"sip\", which needs the SIP account jigasi registers with"),
        (sip_token.clone(), format!("{account}[sip.dial_in_numbers]\nUS = [\"+1 555 0100\"]\n"), "key `sip.dial_in_numbers`: is for the signaling node"),
        (sip_token.clone(), format!("{account}[bridge]\ndrain_hook = \"drain\"\n"), "key `bridge.drain_hook`: is for server.role = \"videobridge\" or \"recorder\""),
    ];
    for (join, extra, wanted) in cases {
        let root = Root::new();
        root.write("/etc/machine-id", "57575757575757575757575757575757\n");
        root.config(
            "00.toml",
            &format!("[source]\nprovider = \"none\"\n[server]\nrole = \"sip\"\n[bridge]\njoin = \"{join}\"\n"),
        );
        if !extra.is_empty() {
            root.config("10.toml", &extra);
        }
        let out = root.run(&["config", "check"]);
        let said = text(&out);
        assert_eq!(out.status.code(), Some(1), "{said}");
        assert!(said.contains(wanted), "{wanted}\n{said}");
        assert!(
            !said.contains("sip-secret") && !said.contains("jigasi-password"),
            "{said}"
        );
    }
    // With its token and account it checks clean.
    let root = Root::new();
    root.config(
        "00.toml",
        &format!("[source]\nprovider = \"none\"\n[server]\nrole = \"sip\"\n[bridge]\njoin = \"{sip_token}\"\n{account}"),
    );
    let out = root.run(&["config", "check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// A stand-in for the bridge's private REST API on 127.0.0.1:8080: `/colibri/stats` with
/// `mucs_joined` as given.
const STATS_STANDIN: &str = r#"
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
joined = int(sys.argv[1])
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/colibri/stats":
            self.send_response(404); self.end_headers(); return
        body = json.dumps({"stress_level": 0.25, "conferences": 2, "participants": 7,
            "mucs_joined": joined, "muc_clients_connected": joined, "drain": False,
            "graceful_shutdown": False}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
HTTPServer(("127.0.0.1", 8080), H).serve_forever()
"#;

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn status_on_a_bridge_says_whether_it_has_joined() {
    let root = bridge_root(&token().encode(), "");
    let ns = Ns(format!("ryobrole{}", std::process::id()));
    assert!(Command::new("ip")
        .args(["netns", "add", &ns.0])
        .status()
        .unwrap()
        .success());
    assert!(Command::new("ip")
        .args(["-n", &ns.0, "link", "set", "lo", "up"])
        .status()
        .unwrap()
        .success());
    let agent = |args: &[&str]| root.command_in(&ns.0, args).output().unwrap();
    let out = agent(&["run"]);
    assert_eq!(root.step("jitsi")["state"], "ok", "{}", text(&out));
    let stand_in = |joined: &str| {
        let child = Kill(
            Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &ns.0,
                    "/usr/bin/python3",
                    "-c",
                    STATS_STANDIN,
                    joined,
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let probe = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &ns.0,
                    "/usr/bin/python3",
                    "-c",
                    "import socket; socket.create_connection(('127.0.0.1', 8080), 1)",
                ])
                .output()
                .unwrap();
            if probe.status.success() {
                break;
            }
            assert!(Instant::now() < deadline, "the stand-in did not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
        child
    };
    let json = |out: &std::process::Output| -> serde_json::Value {
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)))
    };

    {
        let _bridge = stand_in("1");
        let report = json(&agent(&["status", "--json"]));
        let d = &report["deployment"];
        assert_eq!(d["role"], "videobridge", "{report:#}");
        assert_eq!(d["bridge"]["mucs_joined"], 1, "{report:#}");
        assert_eq!(d["bridge"]["stress_level"], 0.25, "{report:#}");
        // A joined bridge with its stack up is healthy; here systemd is missing (no bus in
        // a test root), and that is the only reason: no web certificate is asked of it.
        let reasons = report["reasons"].to_string();
        assert!(!reasons.contains("deployment"), "{reasons}");
        assert!(
            !reasons.contains("certificate") && !reasons.contains("tls:"),
            "{reasons}"
        );
        let human = text(&agent(&["status"]));
        assert!(
            human.contains(
                "role         videobridge: joined 1 brewery MUC(s), 2 conference(s), stress 0.25"
            ),
            "{human}"
        );
    }
    {
        let _bridge = stand_in("0");
        let report = json(&agent(&["status", "--json"]));
        let reasons = report["reasons"].to_string();
        assert!(
            reasons.contains("this bridge has not joined its signaling node"),
            "{reasons}"
        );
        // Nothing listens on the token's 127.0.0.1:5222 in this namespace: the probe says
        // so, and that is the reason given, next to the generic one.
        assert_eq!(
            report["deployment"]["signaling"]["result"], "unreachable",
            "{report:#}"
        );
        assert!(
            reasons.contains("the signaling node at 127.0.0.1:5222 is unreachable"),
            "{reasons}"
        );
        // The login banner (--brief) does not wait on another machine: no probe there.
        let brief = text(&agent(&["status", "--brief"]));
        assert!(brief.contains("this bridge has not joined"), "{brief}");
        assert!(!brief.contains("127.0.0.1:5222"), "{brief}");
    }
    // Nothing answers on 8080: status says so instead of guessing.
    let report = json(&agent(&["status", "--json"]));
    let reasons = report["reasons"].to_string();
    assert!(
        reasons.contains(
            "deployment: the videobridge at http://127.0.0.1:8080/colibri/stats does not answer"
        ),
        "{reasons}"
    );
}

/// Runs the agent with the private bus as its system bus, off the async runtime's threads.
fn run_on(root: &Root, bus: &bus::Bus, args: &[&str]) -> std::process::Output {
    tokio::task::block_in_place(|| {
        root.run_env(args, &[("DBUS_SYSTEM_BUS_ADDRESS", bus.address.as_str())])
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_keep_their_services_enabled_or_disabled_and_the_scale_unit_only_while_wanted() {
    let bus = bus::Bus::start();
    // The whole stack installed, running and enabled (the image leaves it disabled; here
    // an operator or a package enabled it), which a videobridge must undo.
    let mut units = std::collections::BTreeMap::new();
    for unit in meet_agent::systemd::STACK_UNITS {
        units.insert(
            unit.to_string(),
            systemd::UnitState::installed("active", "enabled"),
        );
    }
    // Spelled out: the start step's module is moving (step/ to pipeline/).
    let scale = "meet-agent-scale.service";
    // No [Install] section: started by the start step only.
    units.insert(
        scale.to_string(),
        systemd::UnitState::installed("inactive", "static"),
    );
    let sd = systemd::Systemd::serve(&bus.address, units).await;
    let web_side = [
        "prosody.service",
        "jicofo.service",
        "coturn.service",
        "nginx.service",
    ];

    // A videobridge of an Auto Scaling group.
    let t = token();
    let root = bridge_root(&t.encode(), "drain_hook = \"ryo-jitsi-drain\"\n");
    let out = run_on(&root, &bus, &["run"]);
    assert_eq!(root.step("start")["state"], "ok", "{}", text(&out));
    let calls = sd.calls();
    for unit in web_side {
        assert!(
            calls.contains(&format!("DisableUnitFiles {unit} runtime=false")),
            "{unit} not disabled: {calls:?}"
        );
        assert!(
            calls.contains(&format!("StopUnit {unit} replace")),
            "{calls:?}"
        );
        assert_eq!(sd.file_state(unit), "disabled");
    }
    assert_eq!(sd.file_state("jitsi-videobridge2.service"), "enabled");
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("DisableUnitFiles jitsi-videobridge2")
                || c.starts_with("EnableUnitFiles")),
        "{calls:?}"
    );
    assert!(
        calls.contains(&format!("StartUnit {scale} replace")),
        "{calls:?}"
    );
    assert!(
        root.message("start").contains(&format!("{scale} started")),
        "{}",
        root.message("start")
    );

    // The hook goes from the configuration: the running scale unit is stopped.
    sd.calls.lock().unwrap().clear();
    root.config(
        "00.toml",
        &format!(
            "[source]\nprovider = \"none\"\n[server]\ndomain = \"{DOMAIN}\"\nrole = \"videobridge\"\n\
             [bridge]\njoin = \"{}\"\n",
            t.encode()
        ),
    );
    let out = run_on(&root, &bus, &["run"]);
    assert_eq!(root.step("start")["state"], "ok", "{}", text(&out));
    let calls = sd.calls();
    assert!(
        calls.contains(&format!("StopUnit {scale} replace")),
        "{calls:?}"
    );
    assert!(
        !calls.contains(&format!("StartUnit {scale} replace")),
        "{calls:?}"
    );
    assert!(
        root.message("start")
            .contains(&format!("{scale} stopped: bridge.drain_hook is not set")),
        "{}",
        root.message("start")
    );
    // Already disabled: nothing to change at this boot.
    assert!(!calls.iter().any(|c| c.contains("UnitFiles")), "{calls:?}");
    // meet-agent scale itself, started by hand or by an old job: nothing to do, success.
    let out = run_on(&root, &bus, &["scale"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("meet-agent scale has nothing to do: bridge.drain_hook is not set"),
        "{}",
        text(&out)
    );

    // The same machine made a signaling node: its services are started (and stay
    // disabled: each boot's start step starts them) and the bridge, which it no longer
    // runs, is disabled; the scale unit (stopped) stays so.
    sd.calls.lock().unwrap().clear();
    root.config(
        "00.toml",
        &format!(
            "[source]\nprovider = \"none\"\n[server]\ndomain = \"{DOMAIN}\"\nrole = \"signaling\"\n"
        ),
    );
    let out = run_on(&root, &bus, &["run"]);
    assert_eq!(root.step("start")["state"], "ok", "{}", text(&out));
    let calls = sd.calls();
    for unit in web_side {
        assert!(
            calls.contains(&format!("StartUnit {unit} replace")),
            "{unit} not started: {calls:?}"
        );
        assert_eq!(sd.file_state(unit), "disabled");
    }
    assert!(
        !calls.iter().any(|c| c.starts_with("EnableUnitFiles")),
        "{calls:?}"
    );
    assert_eq!(sd.file_state("jitsi-videobridge2.service"), "disabled");
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with(&format!("StopUnit {scale}"))),
        "{calls:?}"
    );
    let out = run_on(&root, &bus, &["scale"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("role is \"signaling\", not \"videobridge\""),
        "{}",
        text(&out)
    );
}
