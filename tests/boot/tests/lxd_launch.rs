//! LXD scenario: the offline build's LXD image imports as `ryo-jitsi`, `lxc launch
//! ryo-jitsi` with the configuration in `user.meet-agent.config` runs the agent, which
//! installs the supplied certificate and reports healthy; no unit failed.

use boot_tests::image_dir;
use boot_tests::lxd::LxdDaemon;
use rcgen::{CertificateParams, KeyPair};
use std::time::Duration;

#[test]
fn lxc_launch_ryo_jitsi_with_config_key_comes_up_healthy() {
    let tarball = image_dir().unwrap().join("ryo-jitsi-lxd.tar.zst");
    let lxd = LxdDaemon::start().unwrap();
    lxd.import(&tarball, "ryo-jitsi").unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["lxd.example.test".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let config = format!(
        "[server]\ndomain = \"lxd.example.test\"\n[tls]\ncertificate = '''{}'''\nkey = '''{}'''\n{}",
        cert.pem(),
        key.serialize_pem(),
        boot_tests::NO_FIRST_BOOT_UPDATES
    );
    lxd.lxc(&[
        "launch",
        "ryo-jitsi",
        "meet1",
        "-c",
        &format!("user.meet-agent.config={config}"),
    ])
    .unwrap();

    // The agent runs once the boot reaches it; its run is over once the last step, start,
    // has an outcome (waiting for an earlier one raced with the steps after it).
    let json = lxd
        .exec_until(
            "meet1",
            &["meet-agent", "status", "--json"],
            Duration::from_secs(150),
            |out| {
                serde_json::from_str::<serde_json::Value>(out)
                    .map(|s| {
                        s["steps"].as_array().is_some_and(|steps| {
                            steps.iter().any(|s| {
                                s["name"] == "start"
                                    && s["state"] != "pending"
                                    && s["state"] != "running"
                            })
                        })
                    })
                    .unwrap_or(false)
            },
        )
        .unwrap();
    let status: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        status["identity"]["instance"]["provider"], "lxd",
        "{status:#}"
    );
    // LXD 5 gives each instance a UUID as its cloud-init instance-id.
    assert!(
        status["identity"]["instance"]["instance_id"]
            .as_str()
            .is_some_and(|id| id.len() >= 8),
        "{status:#}"
    );
    assert_eq!(
        status["certificate"]["names"][0], "lxd.example.test",
        "{status:#}"
    );
    assert!(
        status["identity"]["local_ipv4"]
            .as_str()
            .is_some_and(|ip| ip.starts_with("10.201.0.")),
        "{status:#}"
    );
    assert_eq!(status["health"], "healthy", "{status:#}");

    let running = lxd
        .exec_until(
            "meet1",
            &["systemctl", "is-system-running"],
            Duration::from_secs(60),
            |out| {
                let state = out.trim();
                state == "running" || state == "degraded"
            },
        )
        .unwrap();
    let failed = lxd
        .lxc(&[
            "exec",
            "meet1",
            "--",
            "systemctl",
            "--failed",
            "--no-legend",
            "--plain",
        ])
        .unwrap();
    assert!(
        failed.trim().is_empty() && running.trim() == "running",
        "failed units:\n{failed}"
    );
}
