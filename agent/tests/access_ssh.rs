//! `[access] ssh_authorized_keys` with the real OpenSSH: the access step writes the keys,
//! Debian's sshd (on 127.0.0.1, configured with the image's drop-in
//! image/files/etc/ssh/sshd_config.d/50-ryo-jitsi.conf, its key file path moved below the
//! test root) lets the listed key in as root, refuses another key, offers no password
//! login, and lets nobody in once the key is taken out of the configuration. The console
//! banner (`status --brief`) is checked here too.

mod common;
use common::{free_port, text, Root};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

const DROP_IN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../image/files/etc/ssh/sshd_config.d/50-ryo-jitsi.conf"
);

fn keypair(dir: &Path, name: &str) -> (PathBuf, String) {
    let key = dir.join(name);
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    (key, public.trim().to_string())
}

struct Sshd {
    child: Child,
    port: u16,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The real sshd with the image's drop-in; only what a test on a shared machine needs
/// differs: loopback, a port of its own, no PAM, and StrictModes off (the test root lies
/// in the world-writable /tmp).
fn sshd(root: &Root, dir: &Path) -> Sshd {
    let host_key = dir.join("host_key");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&host_key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let image = std::fs::read_to_string(DROP_IN).unwrap();
    let moved = image.replace(
        "/etc/meet-agent/ssh/",
        &format!("{}/", root.join("/etc/meet-agent/ssh").display()),
    );
    assert_ne!(image, moved, "the drop-in names the agent's key file");
    let port = free_port();
    let conf = dir.join("sshd_config");
    std::fs::write(
        &conf,
        format!(
            "ListenAddress 127.0.0.1:{port}\nHostKey {}\nPidFile none\nUsePAM no\nStrictModes no\n{moved}",
            host_key.display()
        ),
    )
    .unwrap();
    std::fs::create_dir_all("/run/sshd").unwrap();
    let child = Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f"])
        .arg(&conf)
        .stderr(std::fs::File::create(dir.join("sshd.log")).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "sshd did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Sshd { child, port }
}

fn ssh(port: u16, key: &Path, extra: &[&str]) -> Output {
    Command::new("ssh")
        .args(["-F", "/dev/null", "-p", &port.to_string(), "-i"])
        .arg(key)
        .args([
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=10",
        ])
        .args(extra)
        .args(["root@127.0.0.1", "echo logged-in"])
        .output()
        .unwrap()
}

fn configure(root: &Root, keys: &[&str]) -> Output {
    let list: Vec<String> = keys.iter().map(|k| format!("{k:?}")).collect();
    root.config(
        "00.toml",
        &format!(
            "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\n[access]\nssh_authorized_keys = [{}]\n",
            list.join(", ")
        ),
    );
    root.run(&["run", "--step", "access"])
}

#[test]
fn the_listed_key_logs_in_as_root_by_key_only_until_it_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = keypair(dir.path(), "admin-laptop");
    let (other, _) = keypair(dir.path(), "stranger");
    let root = Root::new();
    root.write("/etc/machine-id", "0123456789abcdef0123456789abcdef\n");
    // The image has the drop-in; the step checks that sshd will read its file.
    root.write(
        "/etc/ssh/sshd_config.d/50-ryo-jitsi.conf",
        std::fs::read(DROP_IN).unwrap(),
    );
    let out = configure(&root, &[&public]);
    assert!(out.status.success(), "{}", text(&out));
    // The fingerprint status shows is ssh-keygen's.
    let keygen = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(key.with_extension("pub"))
        .output()
        .unwrap();
    let print = String::from_utf8_lossy(&keygen.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    assert_eq!(
        root.message("access"),
        format!("1 SSH key may log in as root: {print} (admin-laptop)")
    );
    assert_eq!(root.step("access")["state"], "ok");

    let server = sshd(&root, dir.path());
    let inside = ssh(server.port, &key, &[]);
    assert_eq!(
        String::from_utf8_lossy(&inside.stdout).trim(),
        "logged-in",
        "{}",
        text(&inside)
    );
    let refused = ssh(server.port, &other, &[]);
    assert!(!refused.status.success(), "another key got in");
    // No password prompt is even offered.
    let password = ssh(
        server.port,
        &other,
        &[
            "-o",
            "PreferredAuthentications=password,keyboard-interactive",
            "-v",
        ],
    );
    assert!(!password.status.success());
    assert!(
        text(&password).contains("Authentications that can continue: publickey\n")
            || text(&password).contains("Authentications that can continue: publickey\r"),
        "{}",
        text(&password)
    );

    // Taken out of the configuration, the key no longer logs in.
    let out = configure(&root, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!root
        .join("/etc/meet-agent/ssh/authorized_keys.root")
        .exists());
    assert_eq!(root.step("access")["state"], "not-configured");
    assert!(!ssh(server.port, &key, &[]).status.success());
}

#[test]
fn a_broken_key_is_a_configuration_error_naming_the_entry() {
    let root = Root::new();
    root.config(
        "00.toml",
        "[access]\nssh_authorized_keys = [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMa0tGi/fmhJkD1Ti3p6MlTw0sywZQmBQ4kyYWYBkVA1 a\", \"from=\\\"10.0.0.1\\\" ssh-ed25519 AAAA\"]\n",
    );
    let out = root.run(&["config", "check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out)
            .contains("key `access.ssh_authorized_keys`: entry 2: starts with 'from=\"10.0.0.1\"'"),
        "{}",
        text(&out)
    );
}

#[test]
fn the_console_banner_names_the_address_the_health_and_the_reasons() {
    let root = Root::new();
    root.write("/etc/machine-id", "0123456789abcdef0123456789abcdef\n");
    root.config(
        "00.toml",
        "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\n[updates]\nfirst_boot = false\n",
    );
    let out = root.run(&["run"]);
    assert!(out.status.code().is_some_and(|c| c <= 1), "{}", text(&out));
    let issue = std::fs::read_to_string(root.join("/etc/issue.d/ryo-jitsi.issue")).unwrap();
    let brief = root.run(&["status", "--brief"]);
    let brief = String::from_utf8_lossy(&brief.stdout).to_string();
    assert!(
        brief.starts_with("ryo-jitsi  https://meet.example.test/  degraded\n"),
        "{brief}"
    );
    // A self-signed fallback is one of the reasons, with what to do.
    assert!(brief.contains("\n  - tls: "), "{brief}");
    assert!(
        brief.ends_with("The whole report: meet-agent status\n"),
        "{brief}"
    );
    assert!(brief.lines().count() <= 11, "{brief}");
    // The console shows what status said at the end of the run.
    assert_eq!(issue.trim_end(), brief.trim_end().replace('\\', "\\\\"));
}
