//! Boot scenario: the recorder image (`image/offline/build --role recorder`) boots as a
//! recorder. Its kernel is Debian's generic one (the cloud kernel has no sound drivers),
//! systemd loads snd-aloop at boot, and jibri's runtime (chromium, chromedriver, ffmpeg,
//! Xorg's dummy driver, icewm) is where jibri looks for it: the jitsi step's own check,
//! which reads the kernel's sound cards, says so. jibri itself comes from Jitsi's
//! repository, which the offline image cannot reach: the step and status say that instead
//! of failing. The recorder renders jibri.conf from its token, opens nothing new inbound,
//! and its status names the signaling node it cannot reach (none runs here).

use boot_tests::{recorder_image_dir, test_certificate, BootSpec, Guest, GUEST_HOST};
use std::time::Duration;

const DOMAIN: &str = "meet.example.test";

#[test]
fn the_recorder_image_loads_snd_aloop_has_jibris_runtime_and_says_jibri_is_missing() {
    let image = recorder_image_dir().unwrap_or_else(|e| panic!("{e:#}"));
    // A signaling node's recorder token, as `meet-agent bridge token --recorder` prints it:
    // the pinned certificate is a throwaway CA's (nothing answers at GUEST_HOST:5222).
    let ca = test_certificate(DOMAIN);
    let token = meet_agent::bridge::token::Token::for_recorder(
        GUEST_HOST,
        5222,
        DOMAIN,
        "boot-test-control-password",
        "boot-test-call-password",
        &ca.root_pem,
    )
    .expect("token")
    .encode();
    let config = format!(
        "[server]\nrole = \"recorder\"\n[bridge]\njoin = \"{token}\"\n{}",
        boot_tests::NO_FIRST_BOOT_UPDATES
    );
    let mut guest = Guest::boot(
        &BootSpec {
            config: Some(config),
            image_dir: Some(image),
            hostfwd: vec![443],
            ..Default::default()
        },
        None,
    )
    .unwrap();
    let report = guest.report(Duration::from_secs(300)).unwrap();
    let status = &report.status;
    eprintln!(
        "recorder report after {:.1} s (meet-agent started {:?} µs after the kernel, ready at {:?} µs); reasons: {:#}",
        guest.started.elapsed().as_secs_f64(),
        report.agent_started_us,
        report.agent_ready_us,
        status["reasons"]
    );
    for step in status["steps"].as_array().into_iter().flatten() {
        eprintln!("  step {} {} ms", step["name"], step["duration_ms"]);
    }
    eprintln!("{}", report.boot.join("\n"));
    assert_eq!(status["image"]["role"], "recorder", "{status:#}");
    assert_eq!(status["deployment"]["role"], "recorder", "{status:#}");
    // The step's check read /proc/asound/cards in the guest: snd-aloop is loaded, and every
    // executable jibri starts is in place.
    let jitsi = report.step("jitsi");
    let message = jitsi["message"].as_str().unwrap_or("");
    assert!(
        message.contains("jibri's runtime is in place (chromium, chromedriver, ffmpeg, Xorg's dummy driver, icewm, ALSA's loopback card)"),
        "{jitsi:#}\n{}",
        guest.diagnostics()
    );
    assert!(
        message.starts_with("jibri is not installed (no user jibri)"),
        "{jitsi:#}"
    );
    assert!(
        message.contains("/etc/jitsi/jibri/jibri.conf rendered"),
        "{jitsi:#}"
    );
    assert_eq!(jitsi["state"], "degraded", "{jitsi:#}");
    let reasons: Vec<&str> = status["reasons"]
        .as_array()
        .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("jitsi: jibri is not installed")),
        "{status:#}"
    );
    assert!(
        !reasons.iter().any(|r| r.contains("lacks jibri's runtime")),
        "{status:#}"
    );
    assert!(
        report.failed_units.is_empty(),
        "failed units: {:?}\n{}",
        report.failed_units,
        report.failed_unit_logs.join("\n")
    );
    // Nothing new inbound on a recorder: the site, TURN and the bridge's media port stay
    // closed (a recorder connects out to the signaling node only).
    let firewall = report.firewall.join("\n");
    assert!(firewall.contains("policy drop;"), "{firewall}");
    for port in ["443", "3478", "5349", "10000"] {
        assert!(
            !firewall
                .lines()
                .any(|l| l.contains("accept") && l.contains(port)),
            "{port} is open on a recorder:\n{firewall}"
        );
    }
    assert_eq!(
        guest.probe_tcp(443, Duration::from_secs(3)).unwrap(),
        boot_tests::Probe::Silent,
        "the recorder's firewall must drop 443"
    );
    guest.shut_down(Duration::from_secs(60)).unwrap();
}
