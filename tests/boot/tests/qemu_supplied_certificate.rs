//! Boot scenario: the image boots under QEMU, takes its domain and a supplied gzip+base64
//! certificate from fw_cfg, installs it, starts nginx, and serves HTTPS that verifies for
//! the domain; its own status says healthy and no unit failed. The host firewall is loaded
//! and, seen from the host, SSH answers while prosody's ports (5222, 5280) are dropped.
//! The site also serves dial-in (`sip.dial_in_numbers`): the numbers and a meeting's PIN
//! both ways, through the image's nginx and prosody with the module the package installs.

use boot_tests::{test_certificate, BootSpec, Guest, Probe};
use std::time::Duration;

const DOMAIN: &str = "meet.example.test";
/// A SIP account (jigasi runs elsewhere) and the numbers the site shows.
const DIAL_IN: &str =
    "[sip]\nserver = \"sip.example.net\"\nusername = \"meet\"\npassword = \"sip-secret\"\n\
                       [sip.dial_in_numbers]\nUS = [\"+1 555 0100\"]\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supplied_gzip_base64_certificate_through_fw_cfg_serves_verified_https() {
    let ca = test_certificate(DOMAIN);
    let config = ca.gzip_base64_config(DOMAIN) + boot_tests::NO_FIRST_BOOT_UPDATES + DIAL_IN;
    let mut guest = Guest::boot(
        &BootSpec {
            config: Some(config),
            hostfwd: vec![22, 5222, 5280],
            ..Default::default()
        },
        None,
    )
    .unwrap();
    let served = guest
        .serve_then_report(DOMAIN, &ca.root_pem)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let guest_https = guest.https_port;
    assert!(served.body.contains("ryo-jitsi"), "{}", served.body);
    let report = &served.report;
    eprintln!("{}", report.boot.join("\n"));
    eprintln!("{}", report.boot_settings.join("\n"));
    report.assert_boot_choices();
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
    report.assert_healthy();
    assert_eq!(
        status["sip"]["dial_in"]["pin_service_error"],
        serde_json::Value::Null,
        "{status:#}"
    );

    // Dial-in through the image's nginx and prosody.
    let get = |path: String| {
        let root = ca.root_pem.clone();
        async move {
            let (_, body) = boot_tests::fetch_https(DOMAIN, guest_https, &root, &path)
                .await
                .unwrap_or_else(|e| panic!("{path}: {e:#}"));
            serde_json::from_str::<serde_json::Value>(&body)
                .unwrap_or_else(|e| panic!("{path}: {body:?}: {e}"))
        }
    };
    let numbers = get("/_api/dial-in-numbers".into()).await;
    assert_eq!(numbers[0]["formattedNumber"], "+1 555 0100", "{numbers}");
    // The PIN service answers through nginx from the module in prosody: no meeting runs
    // (this image has no jicofo to open one), so no PIN is made, and no PIN is known.
    let mapper = |query: String| {
        let root = ca.root_pem.clone();
        async move {
            let path = format!("/_api/conference-mapper{query}");
            let (code, body) = boot_tests::get_https(DOMAIN, guest_https, &root, &path)
                .await
                .unwrap_or_else(|e| panic!("{path}: {e:#}"));
            let value = serde_json::from_str::<serde_json::Value>(&body)
                .unwrap_or_else(|e| panic!("{path}: {body:?}: {e}"));
            (code, value)
        }
    };
    let (code, mapped) = mapper(format!(
        "?conference=boot@conference.{DOMAIN}&url=https://{DOMAIN}/boot"
    ))
    .await;
    assert_eq!(
        (code, &mapped["conference"]),
        (404, &serde_json::json!(false)),
        "{mapped}"
    );
    assert!(
        mapped["message"]
            .as_str()
            .is_some_and(|m| m.contains(&format!("boot@conference.{DOMAIN} is running"))),
        "{mapped}"
    );
    let (code, found) = mapper("?id=1000000000".into()).await;
    assert_eq!(
        (code, &found["message"]),
        (404, &serde_json::json!("No conference mapping was found")),
        "{found}"
    );

    // The firewall as the kernel holds it, and as a client on the host meets it.
    let firewall = report.firewall.join("\n");
    assert!(firewall.contains("policy drop;"), "{firewall}");
    assert!(
        firewall.contains("tcp dport { 22, 80, 443, 3478, 5349 } accept"),
        "{firewall}"
    );
    assert_eq!(
        report.step("firewall")["message"],
        "inbound open: tcp 22, 80, 443, 3478, 5349; udp 3478, 10000, 49152-65535; everything else dropped (ruleset rewritten and loaded)"
    );
    let wait = Duration::from_secs(4);
    match guest.probe_tcp(22, wait).unwrap() {
        Probe::Answered(banner) => assert!(banner.starts_with("SSH-2.0"), "{banner}"),
        other => panic!("ssh (22, listed) did not answer: {other:?}"),
    }
    for port in [5222, 5280] {
        assert_eq!(
            guest.probe_tcp(port, wait).unwrap(),
            Probe::Silent,
            "port {port} is not listed and must be dropped"
        );
    }
    let steps_ms: u64 = status["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["duration_ms"].as_u64())
        .sum();
    eprintln!(
        "boot-to-ready {:.1} s (QEMU start to first verified HTTPS); agent steps {steps_ms} ms",
        served.boot_to_ready.as_secs_f64()
    );
}

/// Also JWT (issue 19): prosody's Lua 5.4 in the image loads what Jitsi's token plugin needs
/// and verifies a token signed with the configured `jitsi.jwt_app_secret`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pem_certificate_on_a_cidata_config_disk_serves_verified_https_and_checks_jwt() {
    let ca = test_certificate(DOMAIN);
    let config = format!(
        "[server]\ndomain = \"{DOMAIN}\"\n[tls]\ncertificate = '''{}'''\nkey = '''{}'''\n{}{}",
        ca.chain_pem,
        ca.key_pem,
        boot_tests::NO_FIRST_BOOT_UPDATES,
        boot_tests::JWT_CONFIG
    );
    let mut guest = Guest::boot(
        &BootSpec {
            config_disk: Some(config),
            ..Default::default()
        },
        None,
    )
    .unwrap();
    let report = guest
        .serve_then_report(DOMAIN, &ca.root_pem)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"))
        .report;
    let status = &report.status;
    assert_eq!(
        status["identity"]["instance"]["provider"], "config-disk",
        "{status:#}"
    );
    report.assert_jwt_checked_and_otherwise_healthy();
}
