//! Boot scenario for operations: a guest configured for an idle shutdown of one (30 s)
//! minute
//! powers itself off (observed from the host: QEMU exits) through the idle timer, logind
//! and systemd; its first-boot security updates ran and reported that the package mirror
//! is unreachable (the guest has no way out), without holding the server up.

use boot_tests::{test_certificate, BootSpec, Guest};
use std::time::Duration;

const DOMAIN: &str = "ops.example.test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_guest_powers_itself_off_and_reports_its_first_boot_updates() {
    let ca = test_certificate(DOMAIN);
    let config = ca.gzip_base64_config(DOMAIN)
        // A "minute" of 30 s (schedule.minute_seconds, a test harness key): the idle
        // timer checks twice as often and the guest powers off after 30 s idle, at least
        // 30 s after its first run ends (the report is taken right after it).
        + "[schedule]\nidle_shutdown_minutes = 1\nminute_seconds = 30\n[updates]\nfirst_boot_timeout_seconds = 60\n";
    let mut guest = Guest::boot(
        &BootSpec {
            config: Some(config),
            ..Default::default()
        },
        None,
    )
    .unwrap();
    let served = guest
        .serve_then_report(DOMAIN, &ca.root_pem)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let status = &served.report.status;
    let step = |name: &str| served.report.step(name).clone();
    let updates = step("updates");
    assert_eq!(updates["state"], "degraded", "{status:#}");
    assert!(
        updates["message"]
            .as_str()
            .unwrap()
            .starts_with("security updates not applied: apt-get update (the package mirror is unreachable?) failed"),
        "{updates}"
    );
    // Only the updates step is behind the degraded health; the stack came up.
    assert_eq!(status["reasons"].as_array().unwrap().len(), 1, "{status:#}");
    assert!(
        served.report.failed_units.is_empty(),
        "{:?}",
        served.report.failed_units
    );
    let schedule = step("schedule");
    assert_eq!(schedule["state"], "ok", "{schedule}");
    assert!(
        schedule["message"]
            .as_str()
            .unwrap()
            .starts_with("idle shutdown after 1 min"),
        "{schedule}"
    );
    eprintln!(
        "updates step {} ms; boot-to-ready {:.1} s",
        updates["duration_ms"],
        served.boot_to_ready.as_secs_f64()
    );

    // Nobody joins: the idle timer (first check one minute after boot) powers it off.
    let off_at = guest
        .wait_exit(Duration::from_secs(240))
        .unwrap_or_else(|e| panic!("{e:#}"));
    let serial = guest.serial();
    assert!(
        serial.contains("reboot: Power down")
            || serial.contains("Power-Off")
            || serial.contains("Powering off"),
        "{serial}"
    );
    eprintln!(
        "powered itself off {:.1} s after QEMU started",
        off_at.as_secs_f64()
    );
}
