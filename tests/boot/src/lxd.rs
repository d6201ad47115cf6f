//! An LXD daemon of the test's own: its state in a temporary folder, run in a private
//! network namespace and mount namespace, with a dir storage pool, image auto-update off,
//! and a bridge that exists only inside that namespace (no route leads out of it). The lxc client talks to it over its Unix
//! socket (`LXD_DIR`), which needs no network.

use anyhow::{anyhow, bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const PRESEED: &str = "config:
  images.auto_update_interval: \"0\"
storage_pools:
- name: default
  driver: dir
profiles:
- name: default
  devices:
    root:
      path: /
      pool: default
      type: disk
";

/// A running LXD daemon; shut down (with its containers) on drop.
pub struct LxdDaemon {
    child: Child,
    var: PathBuf,
    /// Holds the daemon's state and log.
    pub dir: tempfile::TempDir,
}

impl LxdDaemon {
    /// Starts the daemon and initialises it from the preseed above.
    pub fn start() -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let var = dir.path().join("var");
        std::fs::create_dir_all(&var)?;
        let log = dir.path().join("lxd.log");
        let child = Command::new("unshare")
            .args([
                "--net",
                "--mount",
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
            ])
            // In the new network namespace: loopback up, and a sysfs that shows this
            // namespace's devices (LXD looks its bridge up there), keeping the cgroup mounts.
            .arg(
                "set -e; ip link set lo up; mkdir -p \"$1\"; mount --rbind /sys/fs/cgroup \"$1\"; \
                 mount -t sysfs sysfs /sys; mount --move \"$1\" /sys/fs/cgroup; \
                 exec lxd --group root --logfile \"$0\"",
            )
            .arg(&log)
            .arg(dir.path().join("cgroup"))
            .env("LXD_DIR", &var)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(
                dir.path().join("lxd.stderr"),
            )?))
            .spawn()
            .context("lxd is missing (apt-get install lxd)")?;
        let daemon = Self { child, var, dir };
        daemon.run("lxd", &["waitready", "--timeout", "60"], None)?;
        daemon.run("lxd", &["init", "--preseed"], Some(PRESEED))?;
        // A bridge that exists only inside the daemon's namespace, with LXD's DHCP, so the
        // container has a network as it would anywhere (coturn refuses to run without one).
        daemon.lxc(&[
            "network",
            "create",
            "testbr0",
            "ipv4.address=10.201.0.1/24",
            "ipv4.nat=false",
            "ipv4.firewall=false",
            "ipv6.address=none",
        ])?;
        daemon.lxc(&[
            "profile",
            "device",
            "add",
            "default",
            "eth0",
            "nic",
            "network=testbr0",
            "name=eth0",
        ])?;
        Ok(daemon)
    }

    fn run(&self, program: &str, args: &[&str], stdin: Option<&str>) -> Result<String> {
        use std::io::Write;
        let mut child = Command::new(program)
            .args(args)
            .env("LXD_DIR", &self.var)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run {program}"))?;
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(input.as_bytes())?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "{program} {} failed: {}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr),
                self.log_tail()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs `lxc ARGS` against this daemon and returns its output.
    pub fn lxc(&self, args: &[&str]) -> Result<String> {
        self.run("lxc", args, None)
    }

    /// Imports a unified image tarball under `alias`.
    pub fn import(&self, tarball: &Path, alias: &str) -> Result<()> {
        let path = tarball
            .to_str()
            .ok_or_else(|| anyhow!("image path is not UTF-8"))?;
        self.lxc(&["image", "import", path, "--alias", alias])
            .map(|_| ())
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("lxd.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        format!(
            "\nlxd log (last lines):\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    }

    /// Polls `lxc exec NAME -- ARGS` until `done` accepts its output or `timeout` passes.
    pub fn exec_until(
        &self,
        name: &str,
        args: &[&str],
        timeout: Duration,
        done: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let deadline = std::time::Instant::now() + timeout;
        let mut full = vec!["exec", name, "--"];
        full.extend_from_slice(args);
        let mut last = String::new();
        while std::time::Instant::now() < deadline {
            // A non-zero exit is expected while the guest is still starting.
            let out = Command::new("lxc")
                .args(&full)
                .env("LXD_DIR", &self.var)
                .output()?;
            last = String::from_utf8_lossy(&out.stdout).into_owned();
            if done(&last) {
                return Ok(last);
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        bail!("`lxc exec {name} -- {}` did not reach the expected state within {timeout:?}; last output:\n{last}", args.join(" "))
    }
}

impl Drop for LxdDaemon {
    fn drop(&mut self) {
        let _ = Command::new("timeout")
            .args(["60", "lxd", "shutdown"])
            .env("LXD_DIR", &self.var)
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
