//! Debian's coturn started from the agent's rendered /etc/turnserver.conf.

use crate::common::Root;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// coturn from the rendered file (TLS paths moved below the test root); killed on drop.
pub struct Turnserver(std::process::Child);

impl Turnserver {
    /// Starts coturn from the root's rendered file and waits until `port` accepts.
    pub fn start(root: &Root, port: u16) -> Self {
        let conf = std::fs::read_to_string(root.join("/etc/turnserver.conf")).unwrap();
        let tls_dir = root.join("/etc/meet-agent/tls");
        let moved = conf.replace("/etc/meet-agent/tls", &tls_dir.display().to_string());
        let path = root.write("/tmp/turnserver.conf", moved);
        let child = Command::new("turnserver")
            .arg("-c")
            .arg(&path)
            .args(["--log-file", "stdout", "--pidfile"])
            .arg(root.join("/tmp/turnserver.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("coturn must be installed (apt-get install coturn)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "turnserver did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self(child)
    }
}

impl Drop for Turnserver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
