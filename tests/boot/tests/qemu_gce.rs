//! Boot scenario: the image boots as a Compute Engine instance would. QEMU gives it the DMI
//! product "Google Compute Engine" and BIOS vendor "Google", and a link-local network in
//! which 169.254.169.254:80 leads to a stand-in of Compute Engine's metadata server on the
//! host's 127.0.0.1 (Google Cloud cannot be reached from here). The agent detects Compute
//! Engine under `source.provider = "auto"`, reads the instance's metadata with
//! `Metadata-Flavor: Google` and its configuration from the instance attribute
//! `meet-agent-config` (gzip+base64, with a supplied certificate), and serves verified
//! HTTPS. The agent uses the address, not the name `metadata.google.internal`, so nothing
//! in the guest needs to resolve it.

use boot_tests::{gce_metadata, test_certificate, BootSpec, Guest};
use std::collections::HashMap;

const DOMAIN: &str = "meet.example.test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gce_instance_takes_its_config_from_the_metadata_attribute() {
    let cert = test_certificate(DOMAIN);
    let config = cert.gzip_base64_config(DOMAIN) + boot_tests::NO_FIRST_BOOT_UPDATES;
    let attribute = meet_agent::encoding::gzip_base64(config.as_bytes()).unwrap();
    let md = |k: &str| format!("/computeMetadata/v1/instance/{k}");
    let nic = "network-interfaces/0";
    let server = gce_metadata::start(HashMap::from([
        (md("id"), b"7562818283748123456".to_vec()),
        (
            md("machine-type"),
            b"projects/123456789012/machineTypes/e2-standard-2".to_vec(),
        ),
        (
            md(&format!("{nic}/access-configs/0/external-ip")),
            b"203.0.113.30".to_vec(),
        ),
        (md(&format!("{nic}/ip")), b"10.128.0.7".to_vec()),
        (md("attributes/meet-agent-config"), attribute.into_bytes()),
    ]))
    .unwrap();
    let mut guest = Guest::boot(
        &BootSpec {
            gce: true,
            guestfwd: vec![(80, server.port)],
            ..BootSpec::default()
        },
        None,
    )
    .unwrap();
    let served = guest
        .serve_then_report(DOMAIN, &cert.root_pem)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let status = &served.report.status;
    let identity = &status["identity"];
    assert_eq!(identity["instance"]["provider"], "gce", "{status:#}");
    assert_eq!(identity["instance"]["instance_id"], "7562818283748123456");
    assert_eq!(identity["instance"]["instance_type"], "e2-standard-2");
    assert_eq!(identity["public_ipv4"], "203.0.113.30");
    assert_eq!(identity["public_ipv4_source"], "gce");
    assert_eq!(identity["local_ipv4"], "10.128.0.7");
    assert_eq!(status["certificate"]["self_signed"], false);
    assert!(server.answered() >= 6, "{} answered", server.answered());
    assert_eq!(
        server.refused(),
        0,
        "every request carried Metadata-Flavor: Google"
    );
    served.report.assert_healthy();
    eprintln!(
        "GCE-style boot-to-ready {:.1} s",
        served.boot_to_ready.as_secs_f64()
    );
}
