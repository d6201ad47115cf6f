//! Under systemd (Type=notify) the agent reports each step in STATUS and sends READY=1 with
//! a summary at the end. The test plays systemd's side of the notify socket.

mod common;
use common::{text, Root};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::Duration;

/// Plays systemd: reads notify messages while the agent runs (a datagram socket queues only
/// a few messages, so an unread socket would block the sender), until READY or 3 s of silence.
fn listen(path: &Path) -> std::thread::JoinHandle<Vec<String>> {
    let sock = UnixDatagram::bind(path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    std::thread::spawn(move || {
        let mut messages = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = sock.recv(&mut buf) {
            let message = String::from_utf8_lossy(&buf[..n]).into_owned();
            let ready = message.contains("READY=1");
            messages.push(message);
            if ready {
                break;
            }
        }
        messages
    })
}

#[test]
fn run_sends_status_per_step_then_ready_with_a_summary() {
    let root = Root::new();
    root.config(
        "00.toml",
        "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\n",
    );
    let sock_path = root.join("/notify.sock");
    let listener = listen(&sock_path);
    let out = root.run_env(&["run"], &[("NOTIFY_SOCKET", sock_path.to_str().unwrap())]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let messages = listener.join().unwrap();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("STATUS=step tls (5/12)")),
        "{messages:#?}"
    );
    let last = messages.last().expect("at least one message");
    assert!(last.contains("READY=1"), "READY comes last: {messages:#?}");
    assert!(
        last.contains("STATUS=degraded: 6 ok, 2 degraded, 0 failed, 4 not configured"),
        "{last}"
    );
}

#[test]
fn run_with_broken_config_still_reports_ready_and_why() {
    let root = Root::new();
    root.config(
        "00.toml",
        "[source]\nprovider = \"none\"\n[server]\ndomian = \"x\"\n",
    );
    let sock_path = root.join("/notify.sock");
    let listener = listen(&sock_path);
    let out = root.run_env(&["run"], &[("NOTIFY_SOCKET", sock_path.to_str().unwrap())]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let last = listener.join().unwrap().pop().unwrap_or_default();
    assert!(
        last.contains("READY=1") && last.contains("server.domian"),
        "{last}"
    );
}
