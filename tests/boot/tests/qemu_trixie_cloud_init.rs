//! Boot scenario: the Debian 13 (trixie) image with cloud-init installed, as the clouds'
//! own images have it. Its only configuration is `#cloud-config` user-data on a NoCloud
//! CIDATA disk whose `write_files` puts a meet-agent drop-in (domain and a supplied
//! certificate) into /etc/meet-agent/config.d: cloud-init writes it, meet-agent runs after
//! cloud-init, reads it, leaves the user-data itself alone (and says so), installs the
//! certificate and serves HTTPS that verifies for the domain. In JWT mode: the image's Lua
//! 5.4 (Prosody 13's) verifies a token signed with the configured secret. Built by
//! `OUT=build/image-trixie bash image/offline/build --suite trixie --cloud-init`.

use boot_tests::{test_certificate, trixie_image_dir, BootSpec, Guest};

const DOMAIN: &str = "meet.example.test";

/// `#cloud-config` user-data writing `toml` to a drop-in, readable by root only (it holds
/// the private key).
fn cloud_config(toml: &str) -> String {
    let indented: String = toml.lines().map(|l| format!("      {l}\n")).collect();
    format!(
        "#cloud-config\nwrite_files:\n  - path: /etc/meet-agent/config.d/50-cloud-init.toml\n    \
         permissions: '0600'\n    content: |\n{indented}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trixie_with_cloud_init_reads_a_write_files_drop_in_serves_verified_https_and_checks_jwt() {
    let image = trixie_image_dir().unwrap_or_else(|e| panic!("{e:#}"));
    let ca = test_certificate(DOMAIN);
    // JWT too: Debian 13 packages basexx and inspect for older Luas only, as 12 does.
    let toml =
        ca.gzip_base64_config(DOMAIN) + boot_tests::NO_FIRST_BOOT_UPDATES + boot_tests::JWT_CONFIG;
    let mut guest = Guest::boot(
        &BootSpec {
            cidata_files: vec![
                ("user-data".into(), cloud_config(&toml)),
                (
                    "meta-data".into(),
                    "instance-id: trixie-cloud-init-1\nlocal-hostname: meet\n".into(),
                ),
            ],
            image_dir: Some(image),
            ..Default::default()
        },
        None,
    )
    .unwrap();
    let served = guest
        .serve_then_report(DOMAIN, &ca.root_pem)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let report = &served.report;
    let status = &report.status;
    assert_eq!(status["image"]["os"], "debian 13", "{status:#}");
    assert_eq!(report.step("tls")["state"], "ok", "{status:#}");
    assert_eq!(status["certificate"]["names"][0], DOMAIN, "{status:#}");
    assert_eq!(status["certificate"]["self_signed"], false, "{status:#}");
    // The user-data was cloud-init's: meet-agent says it left it alone, and that cloud-init
    // is installed here to act on it.
    let identity = report.step("identity")["message"].as_str().unwrap_or("");
    assert!(
        identity.contains("is cloud-init's (#cloud-config); meet-agent left it alone"),
        "{identity}"
    );
    assert!(
        !identity.contains("cloud-init is not installed"),
        "{identity}"
    );
    report.assert_jwt_checked_and_otherwise_healthy();
    eprintln!(
        "trixie + cloud-init boot-to-ready {:.1} s (QEMU start to first verified HTTPS)",
        served.boot_to_ready.as_secs_f64()
    );
}
