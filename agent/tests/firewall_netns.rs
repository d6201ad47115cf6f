//! The host firewall the firewall step renders, loaded by the real `nft` into a network
//! namespace of the test's own (a "server" joined by a veth pair to a "client" namespace,
//! as a remote client would reach the machine): the ports a meeting needs answer, a port
//! outside the list (5222, prosody's c2s) answers before the ruleset is loaded and not
//! after, a reload replaces the rules, and the "off" ruleset removes them again.

mod common;
use common::{text, Root};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Listens on the given TCP and UDP ports and answers "open" on each (a stand-in for the
/// stack's servers: only reachability is under test).
const LISTENER: &str = r#"
import socket, sys, threading
def tcp(p):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", p)); s.listen(16)
    while True:
        c, _ = s.accept(); c.sendall(b"open"); c.close()
def udp(p):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", p))
    while True:
        _, a = s.recvfrom(64); s.sendto(b"open", a)
for p in sys.argv[1].split(","): threading.Thread(target=tcp, args=(int(p),), daemon=True).start()
for p in sys.argv[2].split(","): threading.Thread(target=udp, args=(int(p),), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
"#;

/// Prints one line per probe: `tcp/443 open` or `tcp/5222 closed`.
const PROBE: &str = r#"
import socket, sys
host = sys.argv[1]
for spec in sys.argv[2:]:
    proto, port = spec.split("/"); port = int(port)
    try:
        if proto == "tcp":
            s = socket.create_connection((host, port), timeout=1.5); got = s.recv(8)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1.5)
            s.sendto(b"hi", (host, port)); got = s.recv(8)
        print(spec, "open" if got == b"open" else "closed")
    except OSError:
        print(spec, "closed")
"#;

// Each namespace pair is its own little network, so every test may use the same addresses.
const SERVER_IP: &str = "10.213.77.1";
const CLIENT_IP: &str = "10.213.77.2";

/// Two network namespaces joined by a veth pair; removed on drop.
struct Net {
    server: String,
    client: String,
    listener: Option<Child>,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip");
    assert!(out.status.success(), "ip {args:?}: {}", text(&out));
}

impl Net {
    fn new() -> Self {
        // Tests run in parallel in one process: a counter keeps their names apart.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!("{}{n}", std::process::id());
        let net = Net {
            server: format!("ryofw-s{id}"),
            client: format!("ryofw-c{id}"),
            listener: None,
        };
        ip(&["netns", "add", &net.server]);
        ip(&["netns", "add", &net.client]);
        let (vs, vc) = (format!("rfs{id}"), format!("rfc{id}"));
        ip(&[
            "link",
            "add",
            &vs,
            "netns",
            &net.server,
            "type",
            "veth",
            "peer",
            "name",
            &vc,
            "netns",
            &net.client,
        ]);
        for (ns, dev, addr) in [(&net.server, &vs, SERVER_IP), (&net.client, &vc, CLIENT_IP)] {
            ip(&["-n", ns, "addr", "add", &format!("{addr}/30"), "dev", dev]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        net
    }

    fn in_server(&self, cmd: &[&str]) -> std::process::Output {
        Command::new("ip")
            .args(["netns", "exec", &self.server])
            .args(cmd)
            .output()
            .expect("ip netns exec")
    }

    fn listen(&mut self, tcp: &str, udp: &str) {
        let mut child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.server,
                "python3",
                "-c",
                LISTENER,
                tcp,
                udp,
            ])
            .stdout(Stdio::piped())
            .spawn()
            .expect("listener");
        let mut line = String::new();
        use std::io::BufRead;
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
        self.listener = Some(child);
    }

    /// What the client sees of each `proto/port`.
    fn probe(&self, specs: &[&str]) -> Vec<String> {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.client,
                "python3",
                "-c",
                PROBE,
                SERVER_IP,
            ])
            .args(specs)
            .output()
            .expect("probe");
        assert!(out.status.success(), "probe: {}", text(&out));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn load(&self, file: &std::path::Path) {
        let out = self.in_server(&["nft", "-f", &file.display().to_string()]);
        assert!(out.status.success(), "nft -f: {}", text(&out));
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        if let Some(mut c) = self.listener.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in [&self.server, &self.client] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

fn rendered(extra: &str, ssh: bool) -> Root {
    let root = Root::new();
    root.write("/etc/machine-id", "0123456789abcdef0123456789abcdef\n");
    root.config(
        "00.toml",
        &format!(
            "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\n{extra}"
        ),
    );
    if ssh {
        root.write(
            "/etc/systemd/system/multi-user.target.wants/ssh.service",
            "[Unit]\n",
        );
    }
    let out = root.run(&["run", "--step", "firewall"]);
    assert!(out.status.success(), "{}", text(&out));
    root
}

#[test]
fn only_the_listed_ports_answer_once_the_ruleset_is_loaded() {
    let root = rendered("[firewall]\nallow_udp = [5000]\n", true);
    let message = root.message("firewall");
    assert_eq!(
        message,
        "inbound open: tcp 22, 80, 443, 3478, 5349; udp 3478, 5000, 10000, 49152-65535; everything else dropped (ruleset rewritten; loaded when meet-agent-firewall next starts)"
    );
    let file = root.join("/etc/meet-agent/firewall.nft");

    let mut net = Net::new();
    net.listen("22,443,5222,5280", "10000,5000,5001");
    let specs = [
        "tcp/22",
        "tcp/443",
        "tcp/5222",
        "tcp/5280",
        "udp/10000",
        "udp/5000",
        "udp/5001",
    ];
    // Without the ruleset everything answers: the probes can tell open from closed.
    assert!(net.probe(&specs).iter().all(|l| l.ends_with(" open")));

    net.load(&file);
    let expected = [
        "tcp/22 open",
        "tcp/443 open",
        "tcp/5222 closed",
        "tcp/5280 closed",
        "udp/10000 open",
        "udp/5000 open",
        "udp/5001 closed",
    ];
    assert_eq!(net.probe(&specs), expected);
    // Loading again replaces the table rather than failing or doubling it.
    net.load(&file);
    let listed = net.in_server(&["nft", "list", "tables"]);
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout).trim(),
        "table inet ryo_jitsi"
    );
    assert_eq!(net.probe(&specs), expected);

    // Switched off, the rendered file removes the table: everything answers again.
    let root_off = rendered("[firewall]\nenabled = false\n", false);
    assert!(root_off
        .message("firewall")
        .starts_with("off (firewall.enabled = false)"));
    assert_eq!(root_off.step("firewall")["state"], "not-configured");
    net.load(&root_off.join("/etc/meet-agent/firewall.nft"));
    assert!(net.probe(&specs).iter().all(|l| l.ends_with(" open")));
}

#[test]
fn without_sshd_port_22_is_closed_and_reruns_change_nothing() {
    let root = rendered("", false);
    assert!(root
        .message("firewall")
        .starts_with("inbound open: tcp 80, 443, 3478, 5349;"));
    let file = root.join("/etc/meet-agent/firewall.nft");
    let before = std::fs::metadata(&file).unwrap().modified().unwrap();
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(20) {}
    let out = root.run(&["run", "--step", "firewall"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::metadata(&file).unwrap().modified().unwrap(),
        before
    );
    assert!(!root.message("firewall").contains("rewritten"));

    let mut net = Net::new();
    net.listen("22,80", "3478");
    net.load(&file);
    assert_eq!(
        net.probe(&["tcp/22", "tcp/80", "udp/3478"]),
        ["tcp/22 closed", "tcp/80 open", "udp/3478 open"]
    );
}

#[test]
fn in_a_container_nothing_is_rendered_and_the_host_is_told_the_ports() {
    let root = Root::new();
    root.write("/etc/machine-id", "0123456789abcdef0123456789abcdef\n");
    root.write("/run/systemd/container", "lxc\n");
    root.config(
        "00.toml",
        "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\n",
    );
    let out = root.run(&["run", "--step", "firewall"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(root.step("firewall")["state"], "not-configured");
    assert_eq!(
        root.message("firewall"),
        "in a container (lxc) the host's firewall decides what is reachable; it must let in tcp 80, 443, 3478, 5349; udp 3478, 10000, 49152-65535"
    );
    assert!(!root.join("/etc/meet-agent/firewall.nft").exists());
}

#[test]
fn port_zero_is_a_configuration_error_naming_the_key() {
    let root = Root::new();
    root.config("00.toml", "[firewall]\nallow_tcp = [0]\n");
    let out = root.run(&["config", "check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("key `firewall.allow_tcp`: port 0 cannot be opened"),
        "{}",
        text(&out)
    );
}
