//! Boot scenario: the image boots as an EC2 instance would. QEMU gives it the DMI vendor
//! "Amazon EC2" and a link-local network in which 169.254.169.254:80 leads to an IMDSv2
//! stand-in on the host's 127.0.0.1 (AWS cannot be reached from here). The agent detects
//! EC2, takes a token, reads the instance's metadata and its user-data, a MIME multipart
//! message as Terraform or cloud-init's make-mime write it: a cloud-config part (left to
//! cloud-init, which this image does not have) and our `text/x-meet-agent` part (the
//! configuration, gzip-compressed, with a supplied certificate). It adds the instance's key
//! pair to root's logins (no cloud-init here to do it) and serves verified HTTPS.

use boot_tests::{imds, test_certificate, BootSpec, Guest};
use std::collections::HashMap;
use std::io::Write;

/// A real ed25519 public key, as IMDS serves a key pair's (`public-keys/0/openssh-key`).
const KEY_PAIR: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMa0tGi/fmhJkD1Ti3p6MlTw0sywZQmBQ4kyYWYBkVA1 boot-test-pair";

/// MIME multipart user-data: a cloud-config part and `ours` as a base64 text/x-meet-agent part.
fn mime_user_data(ours: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(ours);
    let wrapped: Vec<String> = encoded
        .as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    format!(
        "Content-Type: multipart/mixed; boundary=\"MIMEBOUNDARY\"\r\nMIME-Version: 1.0\r\n\r\n\
         --MIMEBOUNDARY\r\nContent-Type: text/cloud-config; charset=\"us-ascii\"\r\n\
         Content-Transfer-Encoding: 7bit\r\n\r\n#cloud-config\r\npackages: [htop]\r\n\r\n\
         --MIMEBOUNDARY\r\nContent-Type: text/x-meet-agent\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--MIMEBOUNDARY--\r\n",
        wrapped.join("\r\n")
    )
    .into_bytes()
}

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
        (
            md("public-keys/0/openssh-key"),
            format!("{KEY_PAIR}\n").into_bytes(),
        ),
        (
            "/latest/user-data".to_string(),
            mime_user_data(&gz.finish().unwrap()),
        ),
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
    assert_eq!(
        identity["instance"]["user_data_note"],
        "EC2 user-data is MIME multipart: meet-agent read its text/x-meet-agent part and left text/cloud-config to cloud-init"
    );
    let access = served.report.step("access");
    assert_eq!(access["state"], "ok", "{access:#}");
    assert!(
        access["message"]
            .as_str()
            .unwrap_or_default()
            .ends_with("(boot-test-pair, from the EC2 key pair)"),
        "{access:#}"
    );
    served.report.assert_healthy();
    eprintln!(
        "EC2-style boot-to-ready {:.1} s",
        served.boot_to_ready.as_secs_f64()
    );
}

/// The scenario's user-data is what the agent expects, checked without booting.
#[test]
fn the_scenarios_mime_user_data_carries_our_gzip_part() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"[server]\ndomain = \"meet.example.test\"\n")
        .unwrap();
    let read = meet_agent::source::user_data::read(
        "EC2 user-data",
        &mime_user_data(&gz.finish().unwrap()),
    )
    .unwrap();
    assert_eq!(
        read.config.unwrap().text,
        "[server]\ndomain = \"meet.example.test\"\n"
    );
    assert!(read
        .left_alone
        .unwrap()
        .ends_with("left text/cloud-config to cloud-init"));
}
