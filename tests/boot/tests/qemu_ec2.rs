//! Boot scenario: the image boots as an EC2 instance would. QEMU gives it the DMI vendor
//! "Amazon EC2" and a link-local network in which 169.254.169.254:80 leads to an IMDSv2
//! stand-in on the host's 127.0.0.1 (AWS cannot be reached from here). The agent detects
//! EC2, takes a token, reads the instance's metadata and its gzip-compressed user-data
//! (the configuration, with a supplied certificate), and serves verified HTTPS.

use boot_tests::{imds, test_certificate, BootSpec, Guest};
use std::collections::HashMap;
use std::io::Write;

const DOMAIN: &str = "meet.example.test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_instance_takes_its_config_from_imdsv2_user_data() {
    let cert = test_certificate(DOMAIN);
    let config = cert.gzip_base64_config(DOMAIN) + boot_tests::NO_FIRST_BOOT_UPDATES;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(config.as_bytes()).unwrap();
    let md = |k: &str| format!("/latest/meta-data/{k}");
    let port = imds::start(HashMap::from([
        (md("instance-id"), b"i-0b007e57b007e57b0".to_vec()),
        (md("instance-type"), b"c6i.large".to_vec()),
        (md("public-ipv4"), b"203.0.113.10".to_vec()),
        (md("local-ipv4"), b"172.31.5.20".to_vec()),
        ("/latest/user-data".to_string(), gz.finish().unwrap()),
    ]))
    .unwrap();
    let mut guest = Guest::boot(
        &BootSpec {
            ec2: true,
            guestfwd: vec![(80, port)],
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
    assert_eq!(identity["instance"]["provider"], "ec2", "{status:#}");
    assert_eq!(identity["instance"]["instance_id"], "i-0b007e57b007e57b0");
    assert_eq!(identity["instance"]["instance_type"], "c6i.large");
    assert_eq!(identity["public_ipv4"], "203.0.113.10");
    assert_eq!(identity["public_ipv4_source"], "ec2");
    assert_eq!(identity["local_ipv4"], "172.31.5.20");
    assert_eq!(status["certificate"]["self_signed"], false);
    served.report.assert_healthy();
    eprintln!(
        "EC2-style boot-to-ready {:.1} s",
        served.boot_to_ready.as_secs_f64()
    );
}
