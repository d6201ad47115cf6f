//! Boot scenario: the image the Packer qemu template made (from the offline base, with the
//! same provisioning scripts) boots and serves a supplied certificate, like the offline one.

use boot_tests::{packer_image, BootSpec, Guest};
use rcgen::{CertificateParams, KeyPair};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_packer_built_image_boots_and_serves_its_supplied_certificate() {
    let disk = packer_image().unwrap();
    let key = KeyPair::generate().unwrap();
    // A self-signed leaf is a valid supplied certificate: one certificate, its own issuer.
    let cert = CertificateParams::new(vec!["packer.example.test".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let config = format!(
        "[server]\ndomain = \"packer.example.test\"\n[tls]\ncertificate = '''{}'''\nkey = '''{}'''\n{}",
        cert.pem(),
        key.serialize_pem(),
        boot_tests::NO_FIRST_BOOT_UPDATES
    );
    let mut guest = Guest::boot(
        &BootSpec {
            config: Some(config),
            ..Default::default()
        },
        Some(&disk),
    )
    .unwrap();
    let report = guest
        .serve_then_report("packer.example.test", &cert.pem())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"))
        .report;
    report.assert_healthy();
    assert_eq!(report.status["image"]["jitsi_repository"], "off");
}
