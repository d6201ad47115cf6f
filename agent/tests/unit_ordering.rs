//! The shipped meet-agent.service against cloud-init's boot stages: it starts after
//! cloud-init has written its files, with no ordering cycle, and the same unit is valid on
//! an image without cloud-init. Checked by `systemd-analyze verify`, which builds a start
//! transaction of the units it is given and reports ordering cycles among them.

mod common;

use common::{shipped_unit, verify_units as verify, SHIPPED_UNITS};
use std::path::Path;

/// Stand-ins for cloud-init's units with their ordering lines as cloud-init 25.1 ships them
/// for Debian (`systemd/*.service.tmpl`); the stages run `cloud-init` itself, here `true`.
const CLOUD_INIT_UNITS: [(&str, &str); 4] = [
    (
        "cloud-init-local.service",
        "[Unit]\nDescription=Cloud-init: Local Stage (pre-network)\nDefaultDependencies=no\nWants=network-pre.target\nAfter=systemd-remount-fs.service\nBefore=network-pre.target\nBefore=shutdown.target\nBefore=sysinit.target\nConflicts=shutdown.target\n",
    ),
    (
        // write_files runs here (cloud_init_modules); called cloud-init.service before 24.3.
        "cloud-init-network.service",
        "[Unit]\nDescription=Cloud-init: Network Stage\nDefaultDependencies=no\nWants=cloud-init-local.service\nWants=sshd-keygen.service\nWants=sshd.service\nAfter=cloud-init-local.service\nAfter=networking.service\nAfter=systemd-networkd-wait-online.service\nBefore=network-online.target\nBefore=sshd-keygen.service\nBefore=sshd.service\nBefore=systemd-user-sessions.service\nBefore=sysinit.target\nBefore=shutdown.target\nConflicts=shutdown.target\n",
    ),
    (
        "cloud-config.service",
        "[Unit]\nDescription=Cloud-init: Config Stage\nAfter=network-online.target cloud-config.target\nAfter=snapd.seeded.service\nBefore=systemd-user-sessions.service\nWants=network-online.target cloud-config.target\n",
    ),
    (
        "cloud-final.service",
        "[Unit]\nDescription=Cloud-init: Final Stage\nAfter=network-online.target time-sync.target cloud-config.service rc-local.service\nAfter=multi-user.target\nBefore=apt-daily.service\nWants=network-online.target cloud-config.service\n",
    ),
];

/// The shipped unit with the test's binary in place of /usr/bin/meet-agent.
fn write_meet_agent(dir: &Path) -> std::path::PathBuf {
    shipped_unit(dir, "meet-agent.service")
}

#[test]
fn meet_agent_starts_after_cloud_init_wrote_its_files_without_an_ordering_cycle() {
    let unit = std::fs::read_to_string(format!("{SHIPPED_UNITS}/meet-agent.service")).unwrap();
    let after: Vec<&str> = unit
        .lines()
        .filter_map(|l| l.strip_prefix("After="))
        .flat_map(str::split_whitespace)
        .collect();
    for stage in [
        "cloud-init.service",
        "cloud-init-network.service",
        "cloud-config.service",
    ] {
        assert!(
            after.contains(&stage),
            "meet-agent.service is not After={stage}"
        );
    }
    // Not after the final stage: runcmd there may wait for the server to be up.
    assert!(!after.contains(&"cloud-final.service"));

    let dir = tempfile::tempdir().unwrap();
    let mut units = vec![write_meet_agent(dir.path())];
    for (name, text) in CLOUD_INIT_UNITS {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!("{text}\n[Service]\nType=oneshot\nExecStart=/bin/true\nRemainAfterExit=yes\n"),
        )
        .unwrap();
        units.push(path);
    }
    let (ok, said) = verify(&units);
    assert!(ok && !said.contains("cycle"), "{said}");
}

#[test]
fn meet_agent_service_is_valid_on_an_image_without_cloud_init() {
    let dir = tempfile::tempdir().unwrap();
    // With the unit it wants, which reads its binary ahead.
    let preload = shipped_unit(dir.path(), "meet-agent-preload.service");
    let (ok, said) = verify(&[write_meet_agent(dir.path()), preload]);
    assert!(
        ok && !said.contains("meet-agent.service") && !said.contains("meet-agent-preload"),
        "{said}"
    );
}
