//! prosody with the rendered configuration, for real: `prosodyctl check config` finds no
//! problem in it; Debian's prosody serves it on 127.0.0.1; a real XMPP client (slixmpp)
//! logs in as a user made with `meet-agent user add` and is refused with a wrong password;
//! jicofo's account works with the per-instance password the jitsi step gave it.

mod common;
use common::{free_port, text, Root};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DOMAIN: &str = "meet.example.test";

/// A prosody main configuration of the test's own (loopback port, data and logs in the
/// test folder), including the agent's rendered file.
struct Setup {
    root: Root,
    dir: PathBuf,
    port: u16,
}

fn chown_prosody(path: &Path) {
    let user = nix::unistd::User::from_name("prosody")
        .unwrap()
        .expect("prosody user");
    nix::unistd::chown(path, Some(user.uid), Some(user.gid)).unwrap();
}

impl Setup {
    fn new(auth: &str) -> Self {
        let root = Root::new();
        // prosody drops to its own user: it must be able to walk into the test folder.
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        root.write("/etc/machine-id", "55555555555555555555555555555555\n");
        root.config(
            "00.toml",
            &format!("[source]\nprovider = \"none\"\n[server]\ndomain = \"{DOMAIN}\"\n[jitsi]\nauth = \"{auth}\"\n"),
        );
        let dir = root.join("/prosody");
        for sub in ["data", "certs"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        chown_prosody(&dir);
        chown_prosody(&dir.join("data"));
        let port = free_port();
        let setup = Self { root, dir, port };
        setup.main_config(
            "main.cfg.lua",
            &setup.root.join(meet_agent::jitsi::prosody::PATH),
        );
        setup
    }

    /// Writes a main configuration including `site`.
    fn main_config(&self, name: &str, site: &Path) -> PathBuf {
        let d = self.dir.display();
        let path = self.dir.join(name);
        std::fs::write(
            &path,
            format!(
                "data_path = \"{d}/data\"\npidfile = \"{d}/prosody.pid\"\n\
                 log = {{ info = \"{d}/prosody.log\" }}\n\
                 interfaces = {{ \"127.0.0.1\" }}\nc2s_ports = {{ {} }}\nhttp_ports = {{ {} }}\nhttp_interfaces = {{ \"127.0.0.1\" }}\nhttps_ports = {{ }}\n\
                 certificates = \"{d}/certs\"\n\
                 modules_enabled = {{ \"roster\"; \"saslauth\"; \"tls\"; \"disco\"; \"posix\"; \"ping\" }}\n\
                 modules_disabled = {{ \"s2s\" }}\n\
                 Include \"{}\"\n",
                self.port,
                free_port(),
                site.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        path
    }

    fn env(&self) -> [(&'static str, String); 2] {
        [
            (
                "MEET_AGENT_PROSODY_CONFIG",
                self.dir.join("main.cfg.lua").display().to_string(),
            ),
            (
                "MEET_AGENT_PROSODY_DATA",
                self.dir.join("data").display().to_string(),
            ),
        ]
    }

    fn agent(&self, args: &[&str], stdin: &str) -> std::process::Output {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.root.run_stdin(args, &env, stdin)
    }

    /// The rendered file with the certificate moved where prosody's user can read it.
    fn servable(&self) -> PathBuf {
        let site =
            std::fs::read_to_string(self.root.join(meet_agent::jitsi::prosody::PATH)).unwrap();
        for (from, to) in [
            ("/etc/meet-agent/tls/fullchain.pem", "fullchain.pem"),
            ("/etc/meet-agent/tls/privkey.pem", "privkey.pem"),
        ] {
            let dest = self.dir.join("certs").join(to);
            std::fs::copy(self.root.join(from), &dest).unwrap();
            chown_prosody(&dest);
        }
        let moved = site.replace(
            "/etc/meet-agent/tls",
            &self.dir.join("certs").display().to_string(),
        );
        let path = self.dir.join("site.cfg.lua");
        std::fs::write(&path, moved).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        self.main_config("serve.cfg.lua", &path)
    }
}

/// `prosodyctl check config`: exit 0 means no problems found.
fn check_config(config: &Path) -> (bool, String) {
    let out = Command::new("prosodyctl")
        .arg("--config")
        .arg(config)
        .args(["check", "config"])
        .output()
        .expect("prosody must be installed (apt-get install prosody)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

struct Prosody(std::process::Child);

impl Drop for Prosody {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// slixmpp logs in as `jid`; returns "OK" or "AUTH-FAILED" (or what went wrong).
fn login(port: u16, jid: &str, password: &str) -> String {
    const CLIENT: &str = r#"
import asyncio, ssl, sys, slixmpp
jid, password, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = slixmpp.ClientXMPP(jid, password)
client.ssl_context.check_hostname = False
client.ssl_context.verify_mode = ssl.CERT_NONE
result = asyncio.get_event_loop().create_future()
client.add_event_handler("session_start", lambda e: result.done() or result.set_result("OK"))
client.add_event_handler("failed_all_auth", lambda e: result.done() or result.set_result("AUTH-FAILED"))
client.connect(("127.0.0.1", port))
loop = asyncio.get_event_loop()
try:
    print(loop.run_until_complete(asyncio.wait_for(result, 20)))
except asyncio.TimeoutError:
    print("TIMEOUT")
client.disconnect()
"#;
    // Debian's python3, where python3-slixmpp lives (a PATH python may lack it).
    let out = Command::new("/usr/bin/python3")
        .args(["-c", CLIENT, jid, password, &port.to_string()])
        .stdin(Stdio::null())
        .output()
        .expect("python3 with slixmpp (apt-get install python3-slixmpp)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .last()
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn rendered_prosody_checks_clean_serves_users_and_refuses_wrong_passwords() {
    let s = Setup::new("secure-domain");
    let out = s.agent(&["run"], "");
    let jitsi = s.root.step("jitsi");
    assert_eq!(jitsi["state"], "ok", "{jitsi}\n{}", text(&out));
    assert!(
        jitsi["message"].as_str().unwrap().contains(
            "prosody accounts focus@auth.meet.example.test and jvb@auth.meet.example.test set"
        ),
        "{jitsi}"
    );
    let (clean, report) = check_config(&s.dir.join("main.cfg.lua"));
    assert!(clean, "prosodyctl check config found problems:\n{report}");

    let out = s.agent(&["user", "add", "alice"], "correct horse battery\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains("correct horse"));
    let out = s.agent(&["user", "list"], "");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "alice",
        "{}",
        text(&out)
    );
    let out = s.agent(&["user", "add", "alice"], "another password\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("already exists"), "{}", text(&out));
    let out = s.agent(&["user", "add", "bob"], "short\n");
    assert!(text(&out).contains("shorter than 8"), "{}", text(&out));

    let serve = s.servable();
    // As its own user: prosody refuses to run as root.
    let user = nix::unistd::User::from_name("prosody")
        .unwrap()
        .expect("prosody user");
    let prosody = Prosody(
        Command::new("prosody")
            .arg("--config")
            .arg(&serve)
            .arg("-F")
            .uid(user.uid.as_raw())
            .gid(user.gid.as_raw())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", s.port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "prosody did not listen on {}: {}",
            s.port,
            std::fs::read_to_string(s.dir.join("prosody.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        login(s.port, &format!("alice@{DOMAIN}"), "correct horse battery"),
        "OK"
    );
    assert_eq!(
        login(s.port, &format!("alice@{DOMAIN}"), "wrong horse battery"),
        "AUTH-FAILED"
    );
    // jicofo's account carries this instance's secret password.
    let secrets: serde_json::Value = serde_json::from_slice(
        &std::fs::read(s.root.join("/var/lib/meet-agent/secrets.json")).unwrap(),
    )
    .unwrap();
    let focus = secrets["focus_password"].as_str().unwrap();
    assert_eq!(login(s.port, &format!("focus@auth.{DOMAIN}"), focus), "OK");

    let out = s.agent(&["user", "passwd", "alice"], "a new long password\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        login(s.port, &format!("alice@{DOMAIN}"), "a new long password"),
        "OK"
    );
    let out = s.agent(&["user", "del", "alice"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        login(s.port, &format!("alice@{DOMAIN}"), "a new long password"),
        "AUTH-FAILED"
    );
    drop(prosody);
}

#[test]
fn open_mode_checks_clean_and_has_no_users_to_manage() {
    let s = Setup::new("open");
    let out = s.agent(&["run"], "");
    assert_eq!(
        s.root.state()["steps"]["jitsi"]["state"],
        "ok",
        "{}",
        text(&out)
    );
    let (clean, report) = check_config(&s.dir.join("main.cfg.lua"));
    assert!(clean, "prosodyctl check config found problems:\n{report}");
    let out = s.agent(&["user", "add", "alice"], "correct horse battery\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("no users to manage"), "{}", text(&out));
}
