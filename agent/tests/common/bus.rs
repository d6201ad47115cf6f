//! A private D-Bus (dbus-daemon) for tests that talk to stand-ins of system services.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

/// A private bus; killed on drop.
pub struct Bus {
    child: Child,
    /// Its address, for DBUS_SYSTEM_BUS_ADDRESS.
    pub address: String,
}

impl Bus {
    /// Starts dbus-daemon and reads its address.
    pub fn start() -> Self {
        let mut child = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("dbus-daemon must be installed (apt-get install dbus)");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Self {
            child,
            address: line.trim().to_string(),
        }
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
