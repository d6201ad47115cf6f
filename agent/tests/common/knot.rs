//! Debian's knotd on 127.0.0.1 as the authoritative server of `example.test`, accepting
//! RFC 2136 updates signed with one TSIG key. A real DNS server for the RFC 2136 provider
//! and for the DNS wait's NS walk.

use crate::common::free_port;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The zone knotd serves.
pub const ZONE: &str = "example.test";
/// The TSIG key name the update ACL allows.
pub const KEY_NAME: &str = "meet-agent";
/// The TSIG secret (base64), as in a knot `key:` section.
pub const KEY_SECRET: &str = "Wm9uZSB1cGRhdGUga2V5IGZvciB0ZXN0czogMzIgYnl0ZXM=";

/// A running knotd, killed on drop.
pub struct Knot {
    child: Child,
    /// Its UDP and TCP port on 127.0.0.1.
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Knot {
    /// Starts knotd with `meet` pointing at `initial`.
    pub fn start(initial: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let d = dir.path().display();
        std::fs::write(
            dir.path().join(format!("{ZONE}.zone")),
            format!(
                "$ORIGIN {ZONE}.\n$TTL 60\n@ SOA ns1 hostmaster 1 3600 900 604800 60\n@ NS ns1\nns1 A 127.0.0.1\nmeet A {initial}\n"
            ),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("knot.conf"),
            format!(
                "server:\n    listen: 127.0.0.1@{port}\n    rundir: {d}\n\
                 control:\n    listen: {d}/knot.sock\n\
                 database:\n    storage: {d}\n\
                 log:\n  - target: stderr\n    any: info\n\
                 key:\n  - id: {KEY_NAME}\n    algorithm: hmac-sha256\n    secret: {KEY_SECRET}\n\
                 acl:\n  - id: update\n    key: {KEY_NAME}\n    action: update\n\
                 zone:\n  - domain: {ZONE}\n    storage: {d}\n    file: {ZONE}.zone\n    acl: update\n    zonefile-sync: -1\n"
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("knot.log")).unwrap();
        let child = Command::new("knotd")
            .arg("-c")
            .arg(dir.path().join("knot.conf"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("knotd must be installed (apt-get install knot)");
        let knot = Self {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while knot.query("meet").is_empty() {
            assert!(Instant::now() < deadline, "knotd did not answer on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        knot
    }

    /// What knotd answers for the A record of `label`.ZONE (kdig, the real client).
    pub fn query(&self, label: &str) -> String {
        let out = Command::new("kdig")
            .args([
                "@127.0.0.1",
                "-p",
                &self.port.to_string(),
                "+short",
                "+timeout=1",
                &format!("{label}.{ZONE}"),
                "A",
            ])
            .output()
            .expect("kdig must be installed (apt-get install knot-dnsutils)");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Knot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
