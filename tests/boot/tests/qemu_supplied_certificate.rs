//! Boot scenario: the image boots under QEMU, takes its domain and a supplied gzip+base64
//! certificate from fw_cfg, installs it, starts nginx, and serves HTTPS that verifies for
//! the domain; its own status says healthy and no unit failed.

use boot_tests::{wait_https, BootSpec, Guest};
use meet_agent::encoding::gzip_base64;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::time::Duration;

const DOMAIN: &str = "meet.example.test";

struct Ca {
    root_pem: String,
    chain_pem: String,
    key_pem: String,
}

fn issue(domain: &str) -> Ca {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "Boot Test Root");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let root = ca.clone().self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec![domain.to_string()])
        .unwrap()
        .signed_by(&key, &Issuer::new(ca, &ca_key))
        .unwrap();
    Ca {
        root_pem: root.pem(),
        chain_pem: leaf.pem(),
        key_pem: key.serialize_pem(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supplied_gzip_base64_certificate_through_fw_cfg_serves_verified_https() {
    let ca = issue(DOMAIN);
    let config = format!(
        "[server]\ndomain = \"{DOMAIN}\"\n[tls]\ncertificate = \"{}\"\nkey = \"{}\"\n",
        gzip_base64(ca.chain_pem.as_bytes()).unwrap(),
        gzip_base64(ca.key_pem.as_bytes()).unwrap()
    );
    let mut guest = Guest::boot(
        &BootSpec {
            config: Some(config),
            ..Default::default()
        },
        None,
    )
    .unwrap();
    let https = wait_https(
        DOMAIN,
        guest.https_port,
        &ca.root_pem,
        Duration::from_secs(240),
    )
    .await;
    let (body, ready_at) = match https {
        Ok(ok) => ok,
        Err(e) => panic!("{e:#}\n{}", guest.diagnostics()),
    };
    let boot_to_ready = ready_at - guest.started;
    assert!(body.contains("ryo-jitsi"), "{body}");

    let report = guest
        .report(Duration::from_secs(120))
        .unwrap_or_else(|e| panic!("{e:#}"));
    let status = &report.status;
    let tls = status["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "tls")
        .unwrap();
    assert_eq!(tls["state"], "ok", "{status:#}");
    assert_eq!(
        status["identity"]["instance"]["provider"], "fw-cfg",
        "{status:#}"
    );
    assert_eq!(status["certificate"]["names"][0], DOMAIN);
    assert_eq!(status["certificate"]["self_signed"], false);
    assert_eq!(
        status["health"],
        "healthy",
        "{status:#}\n{}",
        guest.diagnostics()
    );
    assert!(
        report.failed_units.is_empty(),
        "failed units: {:?}\n{}",
        report.failed_units,
        guest.diagnostics()
    );
    let steps_ms: u64 = status["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["duration_ms"].as_u64())
        .sum();
    eprintln!(
        "boot-to-ready {:.1} s (QEMU start to first verified HTTPS); agent steps {steps_ms} ms",
        boot_to_ready.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pem_certificate_on_a_cidata_config_disk_serves_verified_https() {
    let ca = issue(DOMAIN);
    let config = format!(
        "[server]\ndomain = \"{DOMAIN}\"\n[tls]\ncertificate = '''{}'''\nkey = '''{}'''\n",
        ca.chain_pem, ca.key_pem
    );
    let mut guest = Guest::boot(
        &BootSpec {
            config_disk: Some(config),
            ..Default::default()
        },
        None,
    )
    .unwrap();
    if let Err(e) = wait_https(
        DOMAIN,
        guest.https_port,
        &ca.root_pem,
        Duration::from_secs(240),
    )
    .await
    {
        panic!("{e:#}\n{}", guest.diagnostics());
    }
    let report = guest
        .report(Duration::from_secs(120))
        .unwrap_or_else(|e| panic!("{e:#}"));
    let status = &report.status;
    assert_eq!(
        status["identity"]["instance"]["provider"], "config-disk",
        "{status:#}"
    );
    assert_eq!(status["health"], "healthy", "{status:#}");
    assert!(
        report.failed_units.is_empty(),
        "failed units: {:?}",
        report.failed_units
    );
}
