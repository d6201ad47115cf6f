//! Boot scenarios with a local ACME CA (issue 5, scenarios 1, 2 and 5): Debian's pebble and
//! pebble-challtestsrv run on the host's 127.0.0.1; the guest reaches them only through
//! QEMU `guestfwd` (the CA, DNS over TCP, and challtestsrv's HTTP API, which the agent's
//! URL provider drives as its dynamic DNS service), and pebble validates http-01 through
//! the `hostfwd` of the guest's port 80.

#[path = "../../../agent/tests/common/pebble.rs"]
mod pebble;
/// What pebble.rs needs from the agent tests' common module.
mod common {
    pub fn free_port() -> u16 {
        boot_tests::free_port().expect("a free port on 127.0.0.1")
    }
}

use boot_tests::{acme_boot_spec, fetch_https, BootSpec, Guest, Report, ACME_DOMAIN, GUEST_HOST};
use pebble::{Options, Pebble};
use std::time::Duration;

const DOMAIN: &str = ACME_DOMAIN;

fn pebble() -> Pebble {
    Pebble::start_with(Options {
        listener_ips: vec![GUEST_HOST.into()],
        ..Options::default()
    })
}

fn spec(pebble: &Pebble, ca_host_port: u16, disk: Option<std::path::PathBuf>) -> BootSpec {
    acme_boot_spec(
        &std::fs::read_to_string(&pebble.listener_root).unwrap(),
        pebble.http_port,
        ca_host_port,
        pebble.dns_port,
        pebble.challtest_management(),
        disk,
    )
}

fn agent_ms(report: &Report) -> u64 {
    report.status["steps"]
        .as_array()
        .map(|s| s.iter().filter_map(|s| s["duration_ms"].as_u64()).sum())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acme_first_boot_then_reboot_places_no_new_order() {
    let pebble = pebble();
    let disks = tempfile::tempdir().unwrap();
    let spec = spec(
        &pebble,
        pebble.acme_port(),
        Some(disks.path().join("disk.qcow2")),
    );

    // 1. Fresh boot: DDNS, DNS wait, http-01 through the hostfwd, nginx serving the chain.
    let mut guest = Guest::boot(&spec, None).unwrap();
    let served = guest
        .serve_then_report(DOMAIN, &pebble.issuing_root())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let report = &served.report;
    for name in ["ddns", "dns-wait", "tls"] {
        assert_eq!(report.step(name)["state"], "ok", "{:#}", report.status);
    }
    assert!(
        report.step("tls")["message"]
            .as_str()
            .unwrap()
            .contains("installed"),
        "{:#}",
        report.status
    );
    assert_eq!(report.status["certificate"]["self_signed"], false);
    report.assert_healthy();
    assert_eq!(pebble.issued(), 1);
    // The rendered site: HSTS, and the web app's config.js for this domain.
    let (hsts, config_js) = fetch_https(
        DOMAIN,
        guest.https_port,
        &pebble.issuing_root(),
        "/config.js",
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(hsts.as_deref(), Some("max-age=63072000"));
    assert!(
        config_js.contains(&format!("\"domain\": \"{DOMAIN}\"")),
        "{config_js}"
    );
    // Tuned for this guest: the kernel settings applied (a VM, not a container), and the
    // capacity estimate for its two CPUs.
    let tune = report.step("tune")["message"].as_str().unwrap();
    assert_eq!(report.step("tune")["state"], "ok", "{tune}");
    assert!(tune.starts_with("about 40 participants at 720p"), "{tune}");
    assert!(!tune.contains("not applied"), "{tune}");
    eprintln!(
        "ACME boot-to-ready {:.1} s (QEMU start to first verified HTTPS); agent steps {} ms \
         (ddns {} ms, dns-wait {} ms, tls {} ms)",
        served.boot_to_ready.as_secs_f64(),
        agent_ms(report),
        report.step("ddns")["duration_ms"],
        report.step("dns-wait")["duration_ms"],
        report.step("tls")["duration_ms"],
    );
    let first_ddns = report.step("ddns")["started_at"].clone();
    guest.shut_down(Duration::from_secs(60)).unwrap();

    // 2. The same disk again: DDNS re-run, the certificate kept, no order at the CA.
    let orders = pebble.orders();
    let mut guest = Guest::boot(&spec, None).unwrap();
    let served = guest
        .serve_then_report(DOMAIN, &pebble.issuing_root())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let report = &served.report;
    assert_eq!(report.step("ddns")["state"], "ok", "{:#}", report.status);
    assert_ne!(
        report.step("ddns")["started_at"],
        first_ddns,
        "DDNS did not run again"
    );
    assert!(
        report.step("tls")["message"]
            .as_str()
            .unwrap()
            .starts_with("keeping the certificate"),
        "{:#}",
        report.status
    );
    report.assert_healthy();
    assert_eq!(pebble.orders(), orders, "the reboot placed an order");
    assert_eq!(pebble.issued(), 1);
    eprintln!(
        "reboot boot-to-ready {:.1} s; agent steps {} ms",
        served.boot_to_ready.as_secs_f64(),
        agent_ms(report)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_unreachable_comes_up_with_the_fallback_and_says_why() {
    let pebble = pebble();
    pebble.point_at_loopback(DOMAIN);
    // Nothing listens behind the CA's guestfwd.
    let dead = boot_tests::free_port().unwrap();
    let mut guest = Guest::boot(&spec(&pebble, dead, None), None).unwrap();
    let report = guest.report(Duration::from_secs(240)).unwrap();
    assert_eq!(
        report.status["health"],
        "degraded",
        "{:#}\n{}",
        report.status["reasons"],
        guest.diagnostics()
    );
    let tls = report.step("tls");
    assert_eq!(tls["state"], "degraded", "{:#}", report.status);
    let message = tls["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("ACME with https://{GUEST_HOST}:14000/dir")),
        "{message}"
    );
    assert!(message.contains("self-signed"), "{message}");
    assert_eq!(report.status["certificate"]["self_signed"], true);
    assert!(report.failed_units.is_empty(), "{:?}", report.failed_units);
    // And it serves: HTTPS answers with the fallback certificate.
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .no_proxy()
        .build()
        .unwrap();
    let page = client
        .get(format!("https://127.0.0.1:{}/", guest.https_port))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", guest.diagnostics()));
    assert!(page.status().is_success());
    assert_eq!(pebble.issued(), 0);
}
