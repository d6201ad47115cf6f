//! prosody (Debian's Prosody 13) with the rendered configuration, for real:
//! - in every auth mode, with and without Jitsi's plugins, `prosodyctl check config` is
//!   clean and the running server reports nothing but the Jitsi modules this machine
//!   cannot have (each named in `ALLOWED_MISSING`);
//! - a real XMPP client (slixmpp) logs in as a user made with `meet-agent user add`, is
//!   refused with a wrong password, and logs in as `focus@auth.DOMAIN` with the instance's
//!   secret, whose roster holds `focus.DOMAIN` with subscription both (client_proxy's need);
//! - secure-domain: a registered user opens a room, a guest (anonymous, guest.DOMAIN) joins
//!   it, and the guest cannot open one;
//! - c2s and HTTP listen on loopback only and no s2s port is open, though the main file
//!   (like Debian's) asks for every address and enables dialback; the operator's local
//!   file is read after ours;
//! - the golden files with and without plugins are valid Lua (luac5.4 -p) and load clean
//!   in prosody's configuration loader (`prosodyctl check config`).

mod common;
#[path = "common/site.rs"]
mod site;
use common::{free_port, text, Root, TestCa};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DOMAIN: &str = "meet.example.test";
/// The prosody modules the meet-agent package ships, in the repository.
const OUR_PLUGINS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../image/files/usr/share/meet-agent/prosody-plugins"
);

/// The Jitsi modules a prosody without jitsi-meet-prosody may report missing when the
/// rendered file names them (plugins-present variant); any other complaint fails.
const ALLOWED_MISSING: &[&str] = &[
    "auth_jitsi-anonymous",
    "auth_token",
    "av_moderation_component",
    "client_proxy",
    "conference_duration",
    "end_conference",
    "features_identity",
    "limits_exception",
    "muc_breakout_rooms",
    "muc_domain_mapper",
    "muc_filter_access",
    "muc_hide_all",
    "muc_lobby_rooms",
    "muc_meeting_id",
    "muc_password_whitelist",
    "muc_rate_limit",
    "muc_resource_validate",
    "polls_component",
    "room_metadata_component",
    "speakerstats_component",
    "token_verification",
];

/// A prosody main configuration of the test's own (loopback ports, data and logs in the
/// test folder), shaped like Debian's /etc/prosody/prosody.cfg.lua: it asks for every
/// address, enables dialback and, as Debian's (Prosody 13) does, in-band registration,
/// invites and the admin shell, ends with a VirtualHost and then includes the agent's file.
struct Setup {
    root: Root,
    dir: PathBuf,
    port: u16,
    http_port: u16,
    s2s_port: u16,
}

fn chown_prosody(path: &Path) {
    let user = nix::unistd::User::from_name("prosody")
        .unwrap()
        .expect("prosody user");
    nix::unistd::chown(path, Some(user.uid), Some(user.gid)).unwrap();
}

impl Setup {
    /// `plugins`: whether the test root has Jitsi's plugin directory (the real image has).
    fn new(auth: &str, plugins: bool) -> Self {
        let root = Root::new();
        // prosody drops to its own user: it must be able to walk into the test folder.
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        root.write("/etc/machine-id", "55555555555555555555555555555555\n");
        let jwt = if auth == "jwt" {
            "jwt_app_id = \"test-app\"\n"
        } else {
            ""
        };
        root.config(
            "00.toml",
            &format!("[source]\nprovider = \"none\"\n[server]\ndomain = \"{DOMAIN}\"\n[jitsi]\nauth = \"{auth}\"\n{jwt}"),
        );
        if plugins {
            std::fs::create_dir_all(root.join(meet_agent::jitsi::prosody::JITSI_PLUGINS)).unwrap();
        }
        let dir = root.join("/prosody");
        std::fs::create_dir_all(dir.join("certs")).unwrap();
        chown_prosody(&dir);
        // prosody's data where the agent finds it below --root, as on the machine.
        let data = root.join("/var/lib/prosody");
        std::fs::create_dir_all(&data).unwrap();
        chown_prosody(&data);
        let setup = Self {
            root,
            dir,
            port: free_port(),
            http_port: free_port(),
            s2s_port: free_port(),
        };
        // The main configuration where Debian keeps it, below the root.
        let main = setup.main_config(
            "main.cfg.lua",
            &setup.root.join(meet_agent::jitsi::prosody::PATH),
        );
        let etc = setup.root.join("/etc/prosody/prosody.cfg.lua");
        std::fs::create_dir_all(etc.parent().unwrap()).unwrap();
        std::fs::copy(&main, &etc).unwrap();
        setup
    }

    /// Writes a main configuration including `site`.
    fn main_config(&self, name: &str, site: &Path) -> PathBuf {
        let d = self.dir.display();
        let data = self.root.join("/var/lib/prosody");
        let data = data.display();
        let path = self.dir.join(name);
        std::fs::write(
            &path,
            format!(
                "data_path = \"{data}\"\npidfile = \"{d}/prosody.pid\"\n\
                 log = {{ info = \"{d}/prosody.log\" }}\n\
                 c2s_ports = {{ {} }}\nhttp_ports = {{ {} }}\ns2s_ports = {{ {} }}\ncomponent_ports = {{ }}\n\
                 c2s_interfaces = {{ \"*\"; \"::\" }}\nhttp_interfaces = {{ \"*\"; \"::\" }}\n\
                 certificates = \"{d}/certs\"\n\
                 modules_enabled = {{ \"roster\"; \"saslauth\"; \"tls\"; \"disco\"; \"ping\"; \"dialback\";\n\
                   \"register\"; \"invites\"; \"invites_adhoc\"; \"invites_register\"; \"admin_shell\" }}\n\
                 admin_socket = \"{d}/admin.sock\"\n\
                 modules_disabled = {{ }}\n\
                 VirtualHost \"localhost\"\n\
                 Include \"{}\"\n",
                self.port,
                self.http_port,
                self.s2s_port,
                site.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        path
    }

    fn agent(&self, args: &[&str], stdin: &str) -> std::process::Output {
        self.root.run_stdin(args, &[], stdin)
    }

    /// Runs the agent and returns the jitsi step's state record.
    fn run_agent(&self) -> serde_json::Value {
        let out = self.agent(&["run"], "");
        let jitsi = self.root.step("jitsi");
        assert!(
            jitsi["state"] == "ok" || jitsi["state"] == "degraded",
            "{jitsi}\n{}",
            text(&out)
        );
        jitsi
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
        let moved = site
            .replace(
                "/etc/meet-agent/tls",
                &self.dir.join("certs").display().to_string(),
            )
            .replace(
                "/etc/prosody/ryo-jitsi.local",
                &self
                    .root
                    .join("/etc/prosody/ryo-jitsi.local")
                    .display()
                    .to_string(),
            )
            // Our own prosody modules from the repository, as the package installs them.
            .replace(meet_agent::jitsi::dial_in::PLUGINS, OUR_PLUGINS);
        let path = self.dir.join("site.cfg.lua");
        std::fs::write(&path, moved).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        self.main_config("serve.cfg.lua", &path)
    }

    /// Starts prosody on the servable configuration; waits until c2s answers.
    fn start(&self) -> Prosody {
        let serve = self.servable();
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
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "prosody did not listen on {}: {}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        prosody
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prosody.log")).unwrap_or_default()
    }

    fn secret(&self, name: &str) -> String {
        let secrets: serde_json::Value = serde_json::from_slice(
            &std::fs::read(self.root.join("/var/lib/meet-agent/secrets.json")).unwrap(),
        )
        .unwrap();
        secrets[name].as_str().unwrap().to_string()
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

/// Runs a slixmpp script (`ARGS` is its argument list) with Debian's python3, where
/// python3-slixmpp lives (a PATH python may lack it); returns its last output line.
fn slixmpp(script: &str, args: &[&str]) -> String {
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .args(args)
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

/// Shared client setup: loopback, the test certificate not verified.
const CLIENT: &str = r#"
import asyncio, ssl, sys, slixmpp
def client(jid, password, port, anonymous=False):
    c = slixmpp.ClientXMPP(jid, password, sasl_mech="ANONYMOUS" if anonymous else None)
    c.ssl_context.check_hostname = False
    c.ssl_context.verify_mode = ssl.CERT_NONE
    c.register_plugin("xep_0045")
    started = asyncio.get_event_loop().create_future()
    c.add_event_handler("session_start", lambda e: started.done() or started.set_result("OK"))
    c.add_event_handler("failed_all_auth", lambda e: started.done() or started.set_result("AUTH-FAILED"))
    c.connect(("127.0.0.1", port))
    return c, started
"#;

/// Joining a room: `joined` or the error condition prosody answered.
const JOIN: &str = r#"
async def join(c, room, nick):
    # Prosody's error reply carries no MUC payload, which join_muc_wait waits for.
    done = asyncio.get_event_loop().create_future()
    def error(p):
        if p['from'].bare == room and not done.done():
            done.set_result(p['error']['condition'])
    c.add_event_handler('presence_error', error)
    def joined(p):
        if p['from'] == room + '/' + nick and not done.done():
            done.set_result('joined')
    c.add_event_handler('presence_available', joined)
    p = c.make_presence(pto=room + '/' + nick)
    p.enable('muc_join')
    p.send()
    try:
        return await asyncio.wait_for(done, 10)
    except asyncio.TimeoutError:
        return 'timeout'
"#;

/// Meetings held open: a slixmpp client logged in as `jid` stays in `rooms` (of
/// conference.DOMAIN) until dropped. In open mode only focus may open a room, as jicofo
/// does when a meeting starts.
struct InRooms(std::process::Child);

impl InRooms {
    /// Joins every room (names as the MUC holds them); panics unless all were joined.
    fn join(port: u16, jid: &str, password: &str, rooms: &[&str]) -> Self {
        use std::io::BufRead;
        let script = format!(
            "{CLIENT}{JOIN}
async def main():
    c, started = client(sys.argv[1], sys.argv[2], int(sys.argv[3]))
    state = await asyncio.wait_for(started, 20)
    if state != 'OK':
        print('LOGIN', state, flush=True); return
    results = [await join(c, room + '@conference.' + sys.argv[4], 'focus') for room in sys.argv[5:]]
    print('ROOMS', *results, flush=True)
    await asyncio.get_event_loop().run_in_executor(None, sys.stdin.read)
    c.disconnect()
asyncio.get_event_loop().run_until_complete(main())
"
        );
        let mut child = Command::new("/usr/bin/python3")
            .arg("-c")
            .arg(script)
            .args([jid, password, &port.to_string(), DOMAIN])
            .args(rooms)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 with slixmpp (apt-get install python3-slixmpp)");
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let held = InRooms(child);
        let expected = format!("ROOMS{}", " joined".repeat(rooms.len()));
        assert_eq!(line.trim(), expected, "joining {rooms:?}");
        held
    }
}

impl Drop for InRooms {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// slixmpp logs in as `jid`; returns "OK" or "AUTH-FAILED" (or what went wrong).
fn login(port: u16, jid: &str, password: &str) -> String {
    let script = format!(
        "{CLIENT}
async def main():
    c, started = client(sys.argv[1], sys.argv[2], int(sys.argv[3]))
    print(await asyncio.wait_for(started, 20))
    c.disconnect()
asyncio.get_event_loop().run_until_complete(main())
"
    );
    slixmpp(&script, &[jid, password, &port.to_string()])
}

/// slixmpp logs in as `jid` and returns its roster: `contact=subscription` lines joined by
/// spaces, as the server sent them.
fn roster(port: u16, jid: &str, password: &str) -> String {
    let script = format!(
        "{CLIENT}
async def main():
    c, started = client(sys.argv[1], sys.argv[2], int(sys.argv[3]))
    state = await asyncio.wait_for(started, 20)
    if state != 'OK':
        print(state); return
    await c.get_roster()
    roster = c.client_roster
    print('ROSTER ' + ' '.join(f'{{j}}={{roster[j][\"subscription\"]}}' for j in sorted(roster.keys()) if j != c.boundjid.bare))
    c.disconnect()
asyncio.get_event_loop().run_until_complete(main())
"
    );
    slixmpp(&script, &[jid, password, &port.to_string()])
}

/// `user` (registered) and a guest (anonymous on guest.DOMAIN) try rooms: the user opens
/// `open-room`, the guest joins it, then the guest tries to open `guest-room`. Prints each
/// outcome: `joined` or the error condition.
fn rooms(port: u16, user: &str, password: &str) -> String {
    let script = format!(
        "{CLIENT}{JOIN}
async def main():
    port = int(sys.argv[3])
    conference = 'conference.' + sys.argv[4]
    user, s1 = client(sys.argv[1], sys.argv[2], port)
    guest, s2 = client('guest.' + sys.argv[4], '', port, anonymous=True)
    states = (await asyncio.wait_for(s1, 20), await asyncio.wait_for(s2, 20))
    if states != ('OK', 'OK'):
        print('LOGIN', *states); return
    results = [
        await join(user, 'open-room@' + conference, 'user'),
        await join(guest, 'open-room@' + conference, 'guest'),
        await join(guest, 'guest-room@' + conference, 'guest'),
    ]
    print('ROOMS', *results)
    user.disconnect(); guest.disconnect()
asyncio.get_event_loop().run_until_complete(main())
"
    );
    slixmpp(&script, &[user, password, &port.to_string(), DOMAIN])
}

/// Waits up to 10 s until something listens on `port` (the caller's assertions say what
/// is missing if nothing does).
fn await_listener(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while listeners(port).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Listening TCP sockets on `port` (from /proc/net/tcp and tcp6): their hex addresses.
fn listeners(port: u16) -> Vec<String> {
    let mut found = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address is ADDR:PORT in hex; state 0A is LISTEN.
            let (Some(local), Some(state)) = (fields.get(1), fields.get(3)) else {
                continue;
            };
            if let Some((addr, p)) = local.split_once(':') {
                if *state == "0A" && u16::from_str_radix(p, 16) == Ok(port) {
                    found.push(addr.to_string());
                }
            }
        }
    }
    found
}

/// 127.0.0.1 and ::1 as /proc/net shows them (host byte order words).
fn is_loopback(hex: &str) -> bool {
    hex == "0100007F" || hex == "00000000000000000000000001000000"
}

/// Lines of prosody's log at warn or error level that are not about a Jitsi module this
/// machine cannot have.
fn unexpected_complaints(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("\twarn\t") || l.contains("\terror\t"))
        .filter(|l| {
            !ALLOWED_MISSING
                .iter()
                .any(|m| l.contains(&format!("Unable to load module '{m}'")))
        })
        .map(str::to_string)
        .collect()
}

/// The modules prosody said it could not load.
fn missing_modules(log: &str) -> Vec<String> {
    let mut found: Vec<String> = log
        .lines()
        .filter_map(|l| {
            let rest = &l[l.find("Unable to load module '")? + "Unable to load module '".len()..];
            Some(rest[..rest.find('\'')?].to_string())
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

/// prosody's complaint when a port it was given is taken: `free_port` hands out a port
/// that was free a moment ago, and the suite runs three test binaries at once, so another
/// one can bind it first (seen once, 2026-12-06: 127.0.0.1 taken, ::1 bound).
const PORT_TAKEN: &str = "this port is in use by another application";

fn checks_clean_and_loads(auth: &str, plugins: bool) {
    // A port taken by another test in between is that test's doing, not the configuration's:
    // start over with new ports, twice at most.
    for attempt in 1..=3 {
        let s = Setup::new(auth, plugins);
        s.run_agent();
        let site = std::fs::read_to_string(s.root.join(meet_agent::jitsi::prosody::PATH)).unwrap();
        assert_eq!(site.contains("plugin_paths"), plugins, "{site}");
        let (clean, report) = check_config(&s.dir.join("main.cfg.lua"));
        assert!(
            clean,
            "{auth} (plugins {plugins}): prosodyctl check config found problems:\n{report}"
        );
        let prosody = s.start();
        // Give the hosts time to load their modules after c2s opened.
        std::thread::sleep(Duration::from_millis(500));
        drop(prosody);
        let log = s.log();
        if attempt < 3 && log.contains(PORT_TAKEN) {
            eprintln!("{auth} (plugins {plugins}): a port was taken meanwhile; new ports");
            continue;
        }
        return assert_loads(auth, plugins, &log);
    }
}

/// The log of a prosody that loaded the rendered configuration: no unexpected complaint,
/// and only Jitsi's own modules missing, and those only when the plugins are configured.
fn assert_loads(auth: &str, plugins: bool, log: &str) {
    let unexpected = unexpected_complaints(log);
    assert!(
        unexpected.is_empty(),
        "{auth} (plugins {plugins}): prosody complained:\n{}\n\nfull log:\n{log}",
        unexpected.join("\n")
    );
    let missing = missing_modules(log);
    // Without the plugins nothing may be missing; with them, this machine lacks them all.
    assert_eq!(missing.is_empty(), !plugins, "{auth}: {missing:?}\n{log}");
    eprintln!("{auth} (plugins {plugins}): missing here {missing:?}");
    for m in &missing {
        assert!(ALLOWED_MISSING.contains(&m.as_str()), "{auth}: {m}\n{log}");
    }
}

#[test]
fn every_mode_checks_clean_and_loads_but_for_jitsi_modules_missing_here() {
    for auth in ["open", "secure-domain", "jwt"] {
        for plugins in [false, true] {
            checks_clean_and_loads(auth, plugins);
        }
    }
}

#[test]
fn rendered_prosody_serves_users_refuses_wrong_passwords_and_gives_focus_its_proxy() {
    let s = Setup::new("secure-domain", false);
    let jitsi = s.run_agent();
    assert_eq!(jitsi["state"], "ok", "{jitsi}");
    assert!(
        jitsi["message"].as_str().unwrap().contains(
            "prosody accounts focus@auth.meet.example.test and jvb@auth.meet.example.test set, focus.meet.example.test in focus's roster"
        ),
        "{jitsi}"
    );

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

    let prosody = s.start();
    assert_eq!(
        login(s.port, &format!("alice@{DOMAIN}"), "correct horse battery"),
        "OK"
    );
    assert_eq!(
        login(s.port, &format!("alice@{DOMAIN}"), "wrong horse battery"),
        "AUTH-FAILED"
    );
    // jicofo's account carries this instance's secret password, and its roster the
    // client_proxy component with a mutual subscription.
    let focus = s.secret("focus_password");
    assert_eq!(
        roster(s.port, &format!("focus@auth.{DOMAIN}"), &focus),
        format!("ROSTER focus.{DOMAIN}=both"),
        "{}",
        s.log()
    );

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
fn secure_domain_guests_join_rooms_registered_users_open_but_cannot_open_one() {
    let s = Setup::new("secure-domain", false);
    s.run_agent();
    let out = s.agent(&["user", "add", "alice"], "correct horse battery\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let prosody = s.start();
    assert_eq!(
        rooms(s.port, &format!("alice@{DOMAIN}"), "correct horse battery"),
        "ROOMS joined joined not-allowed",
        "{}",
        s.log()
    );
    drop(prosody);
}

#[test]
fn prosody_listens_on_loopback_only_and_not_for_servers() {
    let s = Setup::new("open", false);
    s.run_agent();
    // The operator's file is read after ours: here it narrows c2s to IPv4.
    s.root.write(
        meet_agent::jitsi::prosody::LOCAL,
        "c2s_interfaces = { \"127.0.0.1\" }\n",
    );
    std::fs::set_permissions(
        s.root.join(meet_agent::jitsi::prosody::LOCAL),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let prosody = s.start();
    // The HTTP port opens with the hosts; c2s is already up.
    await_listener(s.http_port);
    for (what, port) in [("c2s", s.port), ("http", s.http_port)] {
        let bound = listeners(port);
        assert!(!bound.is_empty(), "{what} not listening\n{}", s.log());
        assert!(
            bound.iter().all(|a| is_loopback(a)),
            "{what} listens beyond loopback: {bound:?}"
        );
    }
    assert_eq!(
        listeners(s.s2s_port),
        Vec::<String>::new(),
        "s2s is listening"
    );
    assert_eq!(
        listeners(s.port),
        ["0100007F"],
        "the local file was not read last"
    );
    drop(prosody);
}

#[test]
fn golden_files_with_and_without_plugins_load_in_prosody() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut seen = (0, 0);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&golden)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for dir in dirs {
        let file = dir.join("ryo-jitsi.cfg.lua");
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        if text.contains("plugin_paths") {
            seen.0 += 1;
        } else {
            seen.1 += 1;
        }
        // Lua's own parser...
        let out = Command::new("luac5.4")
            .arg("-p")
            .arg(&file)
            .output()
            .expect("luac5.4 (apt-get install lua5.4)");
        assert!(
            out.status.success(),
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        // ...and prosody's configuration loader, through a main file like Debian's.
        let tmp = Root::new();
        let copy = tmp.write(
            "/site.cfg.lua",
            text.replace(
                "/etc/prosody/ryo-jitsi.local",
                &tmp.join("/ryo-jitsi.local").display().to_string(),
            ),
        );
        let main = tmp.write(
            "/main.cfg.lua",
            format!(
                "data_path = \"{d}\"\npidfile = \"{d}/p.pid\"\ncertificates = \"{d}\"\n\
                 modules_enabled = {{ \"roster\"; \"saslauth\"; \"tls\"; \"disco\" }}\n\
                 VirtualHost \"localhost\"\nInclude \"{}\"\n",
                copy.display(),
                d = tmp.path().display()
            ),
        );
        let (clean, report) = check_config(&main);
        assert!(clean, "{}: {report}", file.display());
    }
    assert!(
        seen.0 > 0 && seen.1 > 0,
        "golden files cover both variants (with, without plugins): {seen:?}"
    );
}

#[test]
fn open_mode_has_no_users_to_manage() {
    let s = Setup::new("open", false);
    s.run_agent();
    let out = s.agent(&["user", "add", "alice"], "correct horse battery\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("no users to manage"), "{}", text(&out));
}

/// `prosodyctl shell ARGS` against the running server (its admin socket), as prosody's user.
fn shell(s: &Setup, serve: &Path, args: &[&str]) -> String {
    let user = nix::unistd::User::from_name("prosody")
        .unwrap()
        .expect("prosody user");
    let out = Command::new("prosodyctl")
        .arg("--config")
        .arg(serve)
        .arg("shell")
        .args(args)
        .uid(user.uid.as_raw())
        .gid(user.gid.as_raw())
        .stdin(Stdio::null())
        .output()
        .expect("prosodyctl");
    let said = text(&out);
    assert!(
        out.status.success(),
        "prosodyctl shell {args:?}: {said}\n{}",
        s.log()
    );
    said
}

/// The SASL mechanisms c2s offers for `host` before any login (a raw stream header).
fn mechanisms(port: u16, host: &str) -> Vec<String> {
    let script = r#"
import re, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(("<?xml version='1.0'?><stream:stream to='%s' version='1.0' xmlns='jabber:client' "
           "xmlns:stream='http://etherx.jabber.org/streams'>" % sys.argv[2]).encode())
data = b""
while b"</stream:features>" not in data:
    chunk = s.recv(4096)
    if not chunk: break
    data += chunk
print(" ".join(re.findall(r"<mechanism>([^<]+)</mechanism>", data.decode())) or "NONE " + data.decode())
"#;
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .args([&port.to_string(), host])
        .output()
        .expect("python3");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Issue 19 items 5-7, with the real Prosody 13 and a main file that, like Debian's,
/// enables in-band registration and invites: the rendered file leaves no module loaded that
/// stores offline messages or creates accounts over XMPP, keeps mod_smacks' counters in
/// memory, and (secure-domain, internal_hashed) offers neither DIGEST-MD5 nor OAUTHBEARER.
#[test]
fn no_account_creation_or_offline_storage_and_only_usable_sasl_mechanisms() {
    for auth in ["secure-domain", "open"] {
        let s = Setup::new(auth, false);
        s.run_agent();
        let prosody = s.start();
        let serve = s.dir.join("serve.cfg.lua");
        for host in [DOMAIN.to_string(), format!("auth.{DOMAIN}")] {
            let list = shell(&s, &serve, &["module", "list", &host]);
            for module in [
                "offline",
                "register",
                "register_ibr",
                "invites",
                "invites_adhoc",
                "invites_register",
                "s2s",
            ] {
                assert!(
                    !list.split_whitespace().any(|w| w == module),
                    "{auth}: {module} is loaded on {host}:\n{list}"
                );
            }
            // The check can see a module: saslauth is always there.
            assert!(list.split_whitespace().any(|w| w == "saslauth"), "{list}");
        }
        let smacks_h = shell(&s, &serve, &["config", "get", "*", "storage"]);
        assert!(
            smacks_h.contains("smacks_h") && smacks_h.contains("memory"),
            "{auth}: global storage: {smacks_h}"
        );
        let offered = mechanisms(s.port, DOMAIN);
        assert!(!offered.is_empty(), "{auth}: no mechanisms\n{}", s.log());
        if auth == "secure-domain" {
            for refused in ["DIGEST-MD5", "OAUTHBEARER"] {
                assert!(
                    !offered.iter().any(|m| m == refused),
                    "{auth}: {refused} offered: {offered:?}"
                );
            }
        }
        drop(prosody);
    }
}

/// Issue 19 item 1, in prosody itself: Prosody 13 (Lua 5.4, with prosody's own package
/// path) loads a module of ours that requires what Jitsi's token plugin requires (basexx,
/// cjson.safe, openssl.hmac, inspect) and signs with them, through the operator's local
/// file, so that a library missing from prosody's path fails this test the way
/// `auth_token` fails to load (Jitsi's plugins themselves cannot be installed here).
#[test]
fn prosody_loads_the_libraries_jitsis_token_plugin_needs() {
    let s = Setup::new("jwt", false);
    s.run_agent();
    let plugins = s.dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::set_permissions(&plugins, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        plugins.join("mod_ryo_jwt_libs.lua"),
        "local basexx = require \"basexx\";\n\
         local json = require \"cjson.safe\";\n\
         local hmac = require \"openssl.hmac\";\n\
         local inspect = require \"inspect\";\n\
         local mac = basexx.to_url64(hmac.new(\"k\", \"sha256\"):final(\"x\"));\n\
         module:log(\"info\", \"ryo-jwt-libs loaded: %s %s\", inspect(mac), json.encode({ ok = true }));\n",
    )
    .unwrap();
    std::fs::set_permissions(
        plugins.join("mod_ryo_jwt_libs.lua"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    s.root.write(
        "/etc/prosody/ryo-jitsi.local.cfg.lua",
        format!(
            "plugin_paths = {{ \"{}\" }}\nComponent \"jwt-libs.{DOMAIN}\" \"ryo_jwt_libs\"\n",
            plugins.display()
        ),
    );
    let prosody = s.start();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !s.log().contains("ryo-jwt-libs loaded") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = s.log();
    drop(prosody);
    // HMAC-SHA256("k", "x") in base64url, computed by prosody's libraries.
    let expected = {
        use base64::Engine;
        let mac = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"k"), b"x");
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.as_ref())
    };
    assert!(
        log.contains(&format!("ryo-jwt-libs loaded: \"{expected}")),
        "prosody did not load the token plugin's libraries:\n{log}"
    );
    assert!(!log.contains("Error initializing module"), "{log}");
}

/// `GET https://DOMAIN:port{path}` verified against `ca`: (status, body).
fn https_get(port: u16, ca: &Path, path: &str) -> (u16, String) {
    let all = site::curl(DOMAIN, port, ca, path, &["-w", "\n%{http_code}"]);
    let (body, code) = all.rsplit_once('\n').unwrap();
    (code.parse().unwrap(), body.to_string())
}

/// The mapper's JSON answer to `query` through nginx: (status, body as JSON).
fn mapper(port: u16, ca: &Path, query: &str) -> (u16, serde_json::Value) {
    let (code, body) = https_get(port, ca, &format!("/_api/conference-mapper{query}"));
    let value = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("{query}: {code} {body:?} is not JSON: {e}"));
    (code, value)
}

/// Dial-in (issue 22) with real prosody and nginx: the numbers and each meeting's PIN over
/// HTTPS through the rendered site, the PIN the same after prosody restarts, refusals for
/// junk, and the per-address limit on looking meetings up by PIN.
#[test]
fn dial_in_numbers_and_pins_are_served_through_nginx_and_pins_survive_a_restart() {
    let s = Setup::new("open", false);
    let ca = TestCa::new();
    let leaf = ca.leaf(&[DOMAIN]);
    s.root.config(
        "10-tls.toml",
        &format!(
            "[tls]\ncertificate = '''{}'''\nkey = '''{}'''\n",
            ca.chain(&leaf),
            leaf.key_pem
        ),
    );
    s.root.config(
        "20-sip.toml",
        "[sip]\nserver = \"sip.provider.example\"\nusername = \"meet\"\npassword = \"sip secret 1\"\n\
         [sip.dial_in_numbers]\nUS = [\"+1 555 0100\", \"+1 555 0199\"]\nDE = [\"+49 30 1234567\"]\n",
    );
    // The machine's own type table, which the agent reads to add only what it lacks.
    s.root.write(
        "/etc/nginx/mime.types",
        std::fs::read("/etc/nginx/mime.types").expect("nginx's /etc/nginx/mime.types"),
    );
    let jitsi = s.run_agent();
    assert_eq!(jitsi["state"], "ok", "{jitsi}");
    let mut prosody = s.start();
    // start() returns once c2s listens; the HTTP port opens with the hosts, a moment later.
    await_listener(s.http_port);
    let served = site::serve(&s.root, false, s.http_port);
    let ca_file = s.root.write("/tmp/ca.pem", &ca.root_pem);
    let ca_file = ca_file.as_path();

    // What status asks: the module answers on the host the rendered file names, and a
    // host without it is told apart.
    let site_text = std::fs::read_to_string(s.root.join(meet_agent::jitsi::prosody::PATH)).unwrap();
    let host = meet_agent::jitsi::dial_in::mapper_host_in(&site_text).unwrap();
    assert_eq!(host, format!("auth.{DOMAIN}"));
    let base = format!("http://127.0.0.1:{}", s.http_port);
    let probe = |host: &str| {
        tokio::runtime::Runtime::new().unwrap().block_on(
            meet_agent::jitsi::dial_in::pin_service_at(&base, host, Duration::from_secs(5)),
        )
    };
    assert_eq!(probe(&host), Ok(()));
    let without = probe(DOMAIN).unwrap_err();
    assert!(
        without.contains("answered 404") && without.contains("mod_ryo_conference_mapper.lua"),
        "{without}"
    );

    // The numbers, in configuration order, as the web app reads them; config.js points at
    // both services on this site.
    let (code, numbers) = https_get(
        served.https,
        ca_file,
        "/_api/dial-in-numbers?conference=a@b",
    );
    assert_eq!(code, 200, "{numbers}");
    let numbers: serde_json::Value = serde_json::from_str(&numbers).unwrap();
    assert_eq!(
        numbers,
        serde_json::json!([
            { "countryCode": "DE", "tollFree": false, "formattedNumber": "+49 30 1234567" },
            { "countryCode": "US", "tollFree": false, "formattedNumber": "+1 555 0100" },
            { "countryCode": "US", "tollFree": false, "formattedNumber": "+1 555 0199" },
        ])
    );
    let (_, config) = https_get(served.https, ca_file, "/config.js");
    for line in [
        format!("\"dialInNumbersUrl\": \"https://{DOMAIN}/_api/dial-in-numbers\""),
        format!("\"dialInConfCodeUrl\": \"https://{DOMAIN}/_api/conference-mapper\""),
    ] {
        assert!(config.contains(&line), "{line} not in {config}");
    }

    // A meeting's PIN, as the web app asks for it: the room name as the page's path holds
    // it and the page URL, neither encoded further. The rooms run (a participant is in
    // each) under the names the web app gives them (getBackendSafeRoomName).
    let muc = format!("conference.{DOMAIN}");
    let ask = |room: &str| {
        mapper(
            served.https,
            ca_file,
            &format!("?conference={room}@{muc}&url=https://{DOMAIN}/{room}"),
        )
    };
    // Not running yet: no PIN, and none is made.
    let (code, early) = ask("Weekly-Sync");
    assert_eq!(
        (code, &early["conference"]),
        (404, &serde_json::json!(false)),
        "{early}"
    );
    assert!(
        early["message"]
            .as_str()
            .is_some_and(|m| m.contains("running")),
        "{early}"
    );
    let participant = InRooms::join(
        s.port,
        &format!("focus@auth.{DOMAIN}"),
        &s.secret("focus_password"),
        &[
            "weekly-sync",
            "retro",
            "team%20sync",
            "caf%c3%a9",
            "a%2bb",
            "stra%c3%9fe",
            "strasse",
        ],
    );
    let (code, first) = ask("Weekly-Sync");
    assert_eq!(code, 200, "{first}");
    assert_eq!(first["conference"], format!("weekly-sync@{muc}"), "{first}");
    let pin = first["id"].as_u64().unwrap_or_else(|| panic!("{first}"));
    assert!((1_000_000_000..10_000_000_000).contains(&pin), "{first}");
    // Asked again (in another case): the same PIN. Another meeting: another PIN, not a
    // neighbour of the first (drawn at random, not counted up).
    assert_eq!(ask("weekly-sync").1["id"], pin, "{}", s.log());
    let (_, other) = ask("retro");
    let other_pin = other["id"].as_u64().unwrap();
    assert!(other_pin.abs_diff(pin) > 1000, "{pin} and {other_pin}");
    // Names the web app encodes: a space, non-ASCII letters in either case, a plus sign
    // (which is not a space here), each as the page's path holds it. Each gets the room
    // participants are in.
    for (asked, room) in [
        ("team%20sync", "team%20sync"),
        ("Team%20Sync", "team%20sync"),
        ("Caf%C3%A9", "caf%c3%a9"),
        ("CAF%C3%89", "caf%c3%a9"),
        ("a+b", "a%2bb"),
        // ß stays ß in the web app's lower case (Unicode case folding makes it ss), and a
        // meeting named with ss is another room.
        ("Stra%C3%9Fe", "stra%c3%9fe"),
        ("STRASSE", "strasse"),
    ] {
        let (code, answer) = ask(asked);
        assert_eq!(
            (code, &answer["conference"]),
            (200, &serde_json::json!(format!("{room}@{muc}"))),
            "{asked}: {answer}"
        );
    }
    assert_eq!(ask("team%20sync").1["id"], ask("TEAM%20SYNC").1["id"]);
    // Meetings nobody is in: refused, so no PIN is stored for made-up names.
    for asked in ["nobody-here", "team%2520sync", "%FF%FE"] {
        let (code, answer) = ask(asked);
        assert_eq!(
            (code, &answer["conference"]),
            (404, &serde_json::json!(false)),
            "{asked}: {answer}"
        );
    }

    // The meeting for a PIN, as an IVR asks; a PIN nobody has.
    let (code, found) = mapper(served.https, ca_file, &format!("?id={pin}"));
    assert_eq!(
        (code, &found["conference"]),
        (200, &serde_json::json!(format!("weekly-sync@{muc}"))),
        "{found}"
    );
    let unknown = if pin == 1_000_000_000 {
        1_000_000_001
    } else {
        1_000_000_000
    };
    let (code, missing) = mapper(served.https, ca_file, &format!("?id={unknown}"));
    assert_eq!(
        (code, &missing["conference"]),
        (404, &serde_json::json!(false)),
        "{missing}"
    );

    // Junk: each refused with 400 and a message, nothing stored. Queries that nginx and
    // prosody could read differently (a repeated or encoded name, which would pick the
    // looser rate limit while prosody looks a PIN up) stop at nginx, without a lookup.
    for query in [
        String::new(),
        "?id=12345abcde".into(),
        format!("?id={pin}0"),
        "?id=%00%01".into(),
        format!("?id=&id={pin}"),
        format!("?%69d={pin}"),
        format!("?id={pin}&id={pin}"),
        format!("?conference=a@{muc}&id={pin}"),
        format!("?conference=a@{muc}&conference=b@{muc}"),
        "?conference=room@conference.elsewhere.example".into(),
        format!("?conference=@{muc}"),
        format!("?conference=a/b@{muc}/resource"),
        format!("?conference={}@{muc}", "x".repeat(4000)),
    ] {
        let (code, body) = mapper(served.https, ca_file, &query);
        assert_eq!(code, 400, "{query}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{query}: {body}"
        );
    }
    // The module refuses them too when asked directly (prosody's HTTP port, as from this
    // machine).
    for query in [
        format!("?%69d={pin}"),
        format!("?id=&id={pin}"),
        format!("?id={pin}&id={pin}"),
        format!("?conference=weekly-sync@{muc}&conference=retro@{muc}"),
        "?foo=1".into(),
    ] {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "10", "-w", "\n%{http_code}", "-H"])
            .arg(format!("Host: auth.{DOMAIN}"))
            .arg(format!(
                "http://127.0.0.1:{}/ryo-conference-mapper{query}",
                s.http_port
            ))
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = out.rsplit_once('\n').unwrap();
        assert_eq!(code, "400", "prosody{query}: {body}");
        assert!(body.contains("\"message\""), "prosody{query}: {body}");
    }
    assert!(
        !s.log().contains("\terror\t"),
        "prosody logged an error:\n{}",
        s.log()
    );

    // prosody restarted (as at a reboot): the same PINs both ways, though the meetings
    // ended with it.
    drop(participant);
    drop(prosody);
    prosody = s.start();
    // Until prosody's HTTP port is open again nginx answers 502 (its own HTML page). Waiting
    // on the port, not by asking, keeps the PIN lookups' rate limit out of it.
    await_listener(s.http_port);
    let again = mapper(served.https, ca_file, &format!("?id={pin}"));
    assert_eq!(again.0, 200, "{}", again.1);
    assert_eq!(again.1["conference"], format!("weekly-sync@{muc}"));
    assert_eq!(ask("Weekly-Sync").1["id"], pin);

    // Guessing PINs from one address: after a burst of 10, nginx answers 429 without asking
    // prosody. Asking meetings' PINs has its own, looser limit and still works.
    let codes: Vec<u16> = (0..30)
        .map(|n| {
            https_get(
                served.https,
                ca_file,
                &format!("/_api/conference-mapper?id={}", 2_000_000_000u64 + n),
            )
            .0
        })
        .collect();
    assert!(
        codes.iter().filter(|c| **c == 429).count() >= 10,
        "{codes:?}"
    );
    assert!(codes.iter().all(|c| *c == 404 || *c == 429), "{codes:?}");
    assert_eq!(ask("retro").1["id"], other_pin);
    // The limit is per client: another address (127.0.0.2, loopback too) still looks up.
    let elsewhere = site::curl(
        DOMAIN,
        served.https,
        ca_file,
        &format!("/_api/conference-mapper?id={pin}"),
        &["--interface", "127.0.0.2", "-w", "\n%{http_code}"],
    );
    assert!(elsewhere.ends_with("\n200"), "{elsewhere}");
    drop(prosody);
}
