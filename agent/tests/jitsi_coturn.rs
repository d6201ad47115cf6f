//! The secrets and jitsi steps with the real coturn (Debian's turnserver on 127.0.0.1): the
//! rendered /etc/turnserver.conf starts it, credentials derived from the per-instance
//! secret allocate (turnutils_uclient, coturn's own client), a wrong secret is refused,
//! and relaying to loopback is denied. Two instances share no secret.

mod common;
#[path = "common/turn.rs"]
mod turn;
use common::{free_port, text, Root};
use std::process::Command;
use turn::Turnserver;

fn secrets(root: &Root) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(root.join("/var/lib/meet-agent/secrets.json")).unwrap())
        .unwrap()
}

fn configured(instance: &str, port: u16, tls_port: u16) -> Root {
    let root = Root::new();
    root.write("/etc/machine-id", format!("{instance}\n"));
    root.config(
        "00.toml",
        &format!(
            "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\npublic_ipv4 = \"203.0.113.7\"\n\
             [jitsi.turn]\nport = {port}\ntls_port = {tls_port}\nlisten = [\"127.0.0.1\"]\nrelay_min_port = 40000\nrelay_max_port = 40100\n"
        ),
    );
    root
}

/// coturn's own client: allocate with TURN REST credentials from `secret`, then ask to
/// relay to 127.0.0.1.
fn uclient(port: u16, secret: &str) -> String {
    let out = Command::new("turnutils_uclient")
        .args(["-p", &port.to_string(), "-W", secret, "-u", "meet"])
        .args(["-e", "127.0.0.1", "-n", "1", "-m", "1", "127.0.0.1"])
        .output()
        .expect("turnutils_uclient (coturn-utils)");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn rendered_coturn_serves_derived_credentials_and_denies_loopback_relays() {
    let (port, tls_port) = (free_port(), free_port());
    let root = configured("0123456789abcdef0123456789abcdef", port, tls_port);
    let out = root.run(&["run"]);
    let state = root.state();
    assert_eq!(state["steps"]["secrets"]["state"], "ok", "{}", text(&out));
    assert_eq!(state["steps"]["jitsi"]["state"], "ok", "{}", text(&out));
    let secret = secrets(&root)["turn_secret"].as_str().unwrap().to_string();
    // The secret is in the file coturn reads, and in no output or state.
    let conf = std::fs::read_to_string(root.join("/etc/turnserver.conf")).unwrap();
    assert!(conf.contains(&format!("static-auth-secret={secret}")));
    assert!(!text(&out).contains(&secret) && !state.to_string().contains(&secret));
    // Status shows a fingerprint of it, never the value.
    let (_, status) = root.status_json(&[]);
    assert!(!status.to_string().contains(&secret));
    let print = status["secrets"]["fingerprints"]["turn_secret"]
        .as_str()
        .unwrap();
    assert!(print.starts_with("sha256:") && print.len() == 23, "{print}");
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &str| {
        std::fs::metadata(root.join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("/var/lib/meet-agent/secrets.json"), 0o600);
    common::assert_group_readable(&root.join("/etc/turnserver.conf"), "turnserver");
    assert!(conf.contains("external-ip=203.0.113.7"), "{conf}");

    let _turn = Turnserver::start(&root, port);
    // Allocation succeeds (the channel bind that follows it is answered), and relaying to
    // loopback is refused by the rendered denied-peer-ip ranges.
    let good = uclient(port, &secret);
    assert!(
        good.contains("channel bind: error 403 (Forbidden IP)"),
        "{good}"
    );
    assert!(!good.contains("Cannot complete Allocation"), "{good}");
    // A wrong secret does not get an allocation at all.
    let bad = uclient(port, "not-the-secret");
    assert!(bad.contains("Cannot complete Allocation"), "{bad}");
}

#[test]
fn secrets_are_made_once_per_instance_and_never_shared() {
    let (port, tls_port) = (free_port(), free_port());
    let first = configured("11111111111111111111111111111111", port, tls_port);
    first.run(&["run"]);
    let a = secrets(&first);
    // A reboot of the same instance keeps them (and the rendered file stays as it was).
    let conf = std::fs::read(first.join("/etc/turnserver.conf")).unwrap();
    first.run(&["run"]);
    assert_eq!(secrets(&first), a);
    assert_eq!(
        std::fs::read(first.join("/etc/turnserver.conf")).unwrap(),
        conf
    );
    // The same disk as another instance (a copied image): all new.
    first.write("/etc/machine-id", "22222222222222222222222222222222\n");
    first.run(&["run"]);
    let b = secrets(&first);
    for key in [
        "focus_password",
        "jvb_password",
        "turn_secret",
        "jwt_app_secret",
    ] {
        assert_ne!(a[key], b[key], "{key} survived a new instance");
    }
    assert_eq!(b["instance_id"], "22222222222222222222222222222222");
    // And two separate instances share nothing either.
    let other = configured("33333333333333333333333333333333", port, tls_port);
    other.run(&["run"]);
    let c = secrets(&other);
    for key in [
        "focus_password",
        "jvb_password",
        "turn_secret",
        "jwt_app_secret",
    ] {
        assert_ne!(b[key], c[key], "{key} shared by two instances");
    }
}
