//! The whole DNS-to-certificate path against real servers on 127.0.0.1: the agent's URL
//! provider updates a dyndns2 stand-in that changes records in pebble-challtestsrv; the
//! dns-wait step asks challtestsrv until it answers our address; pebble (resolving through
//! challtestsrv) validates and issues. And when DNS never converges, no order is placed.

mod common;
#[path = "common/ddns.rs"]
mod ddns;
#[path = "common/pebble.rs"]
mod pebble;
use common::{text, Root};
use ddns::{Apply, DdnsEndpoint};
use pebble::{Options, Pebble};
use std::sync::atomic::Ordering;
use std::time::Duration;

const DOMAIN: &str = "meet.example.test";

/// A fixture root configured for `pebble`, with DOMAIN pointing at loopback.
fn agent_for(pebble: &Pebble) -> Root {
    pebble.point_at_loopback(DOMAIN);
    let root = Root::new();
    root.config("00.toml", &pebble.agent_config(DOMAIN));
    root
}

#[test]
fn ddns_then_dns_wait_then_http01_issues_a_certificate() {
    let pebble = Pebble::start(0);
    // The name still points at an old address, as after a redeploy.
    pebble.set_a(DOMAIN, "192.0.2.1");
    let endpoint = DdnsEndpoint::start(
        pebble.challtest_management(),
        Apply::After(Duration::from_millis(1500)),
    );
    let root = Root::new();
    root.config("00.toml", &pebble.agent_config(DOMAIN));
    root.config("10-ddns.toml", &endpoint.update_config(ddns::PASSWORD));
    let out = root.run(&["run"]);
    let all = text(&out);

    let ddns = root.step("ddns");
    assert_eq!(ddns["state"], "ok", "{ddns}\n{all}");
    assert!(
        ddns["message"]
            .as_str()
            .unwrap()
            .contains("answered `good 127.0.0.1`"),
        "{ddns}"
    );
    assert_eq!(endpoint.hits.load(Ordering::SeqCst), 1);

    let wait = root.step("dns-wait");
    assert_eq!(wait["state"], "ok", "{wait}\n{all}");
    let message = wait["message"].as_str().unwrap();
    assert!(message.starts_with("all servers agree after"), "{message}");
    // It really waited for the propagation delay, and saw the old answer first.
    assert!(wait["duration_ms"].as_u64().unwrap() >= 1000, "{wait}");
    assert!(
        all.contains("192.0.2.1"),
        "the old answer was never seen:\n{all}"
    );

    let tls = root.step("tls");
    assert_eq!(tls["state"], "ok", "{tls}\n{all}");
    assert_eq!(pebble.issued(), 1);
    common::verify_installed(&root, &pebble.issuing_root(), DOMAIN).unwrap();
    // The DDNS password is in no output, state or status.
    let (_, status) = root.status_json(&[]);
    for haystack in [all, root.state().to_string(), status.to_string()] {
        assert!(!haystack.contains(ddns::PASSWORD));
    }
}

#[test]
fn dns_never_converging_places_no_order_and_says_who_answers_what() {
    let pebble = Pebble::start(0);
    pebble.set_a(DOMAIN, "192.0.2.1");
    let endpoint = DdnsEndpoint::start(pebble.challtest_management(), Apply::Never);
    let root = Root::new();
    root.config("00.toml", &pebble.agent_config(DOMAIN));
    root.config("10-ddns.toml", &endpoint.update_config(ddns::PASSWORD));
    root.config("20-wait.toml", "[dns.wait]\ntimeout_seconds = 3\n");
    // While it waits, status shows the step running and who answers what.
    let mut agent = root.spawn(&["run"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let running = loop {
        let (_, status) = root.status_json(&[]);
        let wait = status["steps"]
            .as_array()
            .and_then(|steps| steps.iter().find(|s| s["name"] == "dns-wait"))
            .cloned()
            .unwrap_or_default();
        if wait["state"] == "running" {
            break wait;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "dns-wait never showed as running"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(running["name"], "dns-wait");
    assert!(
        running["message"]
            .as_str()
            .unwrap()
            .contains("answers A 192.0.2.1"),
        "{running}"
    );
    // A timer's run meanwhile waits for the boot's run to finish (one run at a time).
    root.run(&["renew", "--retry"]);
    assert!(
        agent.try_wait().unwrap().is_some(),
        "renew ran while the boot's run was still going"
    );
    assert_eq!(agent.wait().unwrap().code(), Some(1));

    let out = root.run(&["status"]);
    let wait = root.step("dns-wait");
    assert_eq!(wait["state"], "failed", "{wait}\n{}", text(&out));
    let message = wait["message"].as_str().unwrap();
    let port = pebble.dns_port;
    for needle in [
        "within 3 s".to_string(),
        "want A 127.0.0.1".to_string(),
        format!("authoritative 127.0.0.1:{port} answers A 192.0.2.1"),
        format!("resolver 127.0.0.1:{port} answers A 192.0.2.1"),
    ] {
        assert!(message.contains(&needle), "`{needle}` missing: {message}");
    }
    let tls = root.step("tls");
    assert_eq!(tls["state"], "degraded", "{tls}");
    assert!(
        tls["message"]
            .as_str()
            .unwrap()
            .starts_with("no ACME order placed"),
        "{tls}"
    );
    assert_eq!(pebble.orders(), 0, "an order reached the CA");
    assert!(common::installed_subject(&root).contains("self-signed"));
    let (code, status) = root.status_json(&[]);
    assert_eq!(code, 2);
    assert!(
        status["reasons"].to_string().contains("192.0.2.1"),
        "{status}"
    );

    // The retry timer's run once DNS is right: now it orders.
    pebble.point_at_loopback(DOMAIN);
    let out = root.run(&["renew", "--retry"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(root.step("tls")["state"], "ok");
    assert_eq!(pebble.issued(), 1);
    // Nothing failed any more: the retry timer's next run does nothing.
    let out = root.run(&["renew", "--retry"]);
    assert!(
        text(&out).contains("the certificate is in order; nothing to retry"),
        "{}",
        text(&out)
    );
    assert_eq!(pebble.issued(), 1);
}

#[test]
fn ddns_failures_quote_the_provider_and_never_the_password() {
    let pebble = Pebble::start(0);
    let endpoint = DdnsEndpoint::start(pebble.challtest_management(), Apply::Never);
    let root = Root::new();
    root.config(
        "00.toml",
        "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\npublic_ipv4 = \"203.0.113.7\"\n",
    );
    root.config(
        "10-ddns.toml",
        &endpoint.update_config("wrong-password-123"),
    );
    let out = root.run(&["run", "-vvv"]);
    let ddns = root.step("ddns");
    assert_eq!(ddns["state"], "failed", "{ddns}");
    let message = ddns["message"].as_str().unwrap();
    assert!(
        message.contains("the answer `badauth` does not match expect_body"),
        "{message}"
    );
    assert!(message.contains("/nic/update"), "{message}");
    assert!(!text(&out).contains("wrong-password-123"));
    assert!(!root.state().to_string().contains("wrong-password-123"));
    assert_eq!(endpoint.hits.load(Ordering::SeqCst), 0);

    // A provider that is down is retried with backoff until update_timeout_seconds.
    let dead = common::free_port();
    root.config(
        "10-ddns.toml",
        &format!("[dns]\nupdate_timeout_seconds = 4\n[[dns.update]]\ntype = \"url\"\nurl = \"http://127.0.0.1:{dead}/update?h={{domain}}&pw={{password}}\"\npassword = \"pw-in-the-url\"\n"),
    );
    let out = root.run(&["run"]);
    let message = root.message("ddns");
    assert!(
        message.contains("cannot connect (after 3 attempts)"),
        "{message}"
    );
    assert!(!message.contains("pw-in-the-url") && !text(&out).contains("pw-in-the-url"));
}

/// Also: the CA's root given inline rather than as a path, and DNS asked over TCP only.
#[test]
fn tls_alpn01_certificate_is_issued() {
    let pebble = Pebble::start(0);
    let root = agent_for(&pebble);
    root.config(
        "10-alpn.toml",
        &format!(
            "[tls.acme]\nchallenge = \"tls-alpn-01\"\ntls_listen = \"127.0.0.1:{}\"\nca_root = \"\"\"\n{}\"\"\"\n[dns.wait]\nprotocol = \"tcp\"\n",
            pebble.tls_port,
            std::fs::read_to_string(&pebble.listener_root).unwrap()
        ),
    );
    let out = root.run(&["run"]);
    let tls = root.step("tls");
    assert_eq!(tls["state"], "ok", "{tls}\n{}", text(&out));
    assert_eq!(pebble.issued(), 1);
    common::verify_installed(&root, &pebble.issuing_root(), DOMAIN).unwrap();
}

#[test]
fn ip_address_certificate_without_a_domain() {
    let pebble = Pebble::start(0);
    let root = Root::new();
    let config = pebble
        .agent_config(DOMAIN)
        .replace("domain = \"meet.example.test\"\n", "");
    root.config("00.toml", &config);
    let out = root.run(&["run"]);
    let tls = root.step("tls");
    assert_eq!(tls["state"], "ok", "{tls}\n{}", text(&out));
    assert!(
        tls["message"].as_str().unwrap().contains("127.0.0.1"),
        "{tls}"
    );
    assert_eq!(root.step("dns-wait")["state"], "not-configured");
    common::verify_installed(&root, &pebble.issuing_root(), "127.0.0.1").unwrap();
}

#[test]
fn external_account_binding_is_required_and_used() {
    // pebble's EAB keys are base64url HMAC keys.
    let key = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
    let pebble = Pebble::start_with(Options {
        eab: Some(("kid-1".into(), key.into())),
        ..Options::default()
    });
    let root = agent_for(&pebble);
    // Without EAB the CA refuses the account, in its own words.
    let out = root.run(&["run"]);
    let tls = root.step("tls");
    assert_eq!(tls["state"], "degraded", "{tls}\n{}", text(&out));
    assert!(
        tls["message"]
            .as_str()
            .unwrap()
            .contains("externalAccountRequired"),
        "{tls}"
    );
    root.config(
        "10-eab.toml",
        &format!("[tls.acme]\neab_kid = \"kid-1\"\neab_hmac_key = \"{key}\"\n"),
    );
    let out = root.run(&["run"]);
    let tls = root.step("tls");
    assert_eq!(tls["state"], "ok", "{tls}\n{}", text(&out));
    assert!(!text(&out).contains(key));
    assert_eq!(pebble.issued(), 1);
}

#[test]
fn staging_dry_run_guards_the_first_production_order() {
    let pebble = Pebble::start(0);
    let root = agent_for(&pebble);
    // A staging CA that cannot be reached: production is never asked.
    let dead = common::free_port();
    root.config(
        "10-dry.toml",
        &format!("[tls.acme]\nstaging_dry_run = true\ndry_run_directory = \"https://127.0.0.1:{dead}/dir\"\n"),
    );
    root.run(&["run"]);
    let tls = root.step("tls");
    assert_eq!(tls["state"], "degraded", "{tls}");
    assert!(
        tls["message"]
            .as_str()
            .unwrap()
            .contains("staging dry run failed, so nothing was ordered"),
        "{tls}"
    );
    assert_eq!(pebble.orders(), 0);
    // The dry run passes (the same pebble plays staging): two issuances, dry and real.
    root.config(
        "10-dry.toml",
        &format!(
            "[tls.acme]\nstaging_dry_run = true\ndry_run_directory = \"{}?staging\"\n",
            pebble.directory
        ),
    );
    let out = root.run(&["run"]);
    assert_eq!(root.step("tls")["state"], "ok", "{}", text(&out));
    assert_eq!(pebble.issued(), 2);
    // orders() does count what reaches pebble, so the zero above means something.
    assert_eq!(pebble.orders(), 2);
}

#[test]
fn a_ca_that_asked_to_wait_is_not_asked_again_before_then() {
    let pebble = Pebble::start(0);
    let root = agent_for(&pebble);
    root.write(
        "/var/lib/meet-agent/acme/schedule.json",
        r#"{"retry_not_before":"2099-01-01T00:00:00Z","retry_reason":"too many certificates already issued (urn:ietf:params:acme:error:rateLimited)"}"#,
    );
    root.run(&["run"]);
    let tls = root.step("tls");
    let message = tls["message"].as_str().unwrap();
    assert!(
        message.starts_with("no ACME order placed before 2099-01-01T00:00:00Z"),
        "{message}"
    );
    assert!(message.contains("rateLimited"), "{message}");
    assert_eq!(pebble.orders(), 0);
}

#[test]
fn update_on_first_boot_and_after_start() {
    // Apply::Never touches no DNS, so no challtestsrv is needed.
    let endpoint = DdnsEndpoint::start(0, Apply::Never);
    let root = Root::new();
    // The instance is known by its machine-id, as on any booted system.
    root.write("/etc/machine-id", "44444444444444444444444444444444\n");
    root.config(
        "00.toml",
        "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\npublic_ipv4 = \"203.0.113.7\"\n[dns]\nupdate_on = [\"first-boot\", \"after-start\"]\n",
    );
    root.config("10-ddns.toml", &endpoint.update_config(ddns::PASSWORD));
    root.run(&["run"]);
    // First boot: before the certificate and again after the start step.
    assert_eq!(endpoint.hits.load(Ordering::SeqCst), 2);
    let message = root.message("ddns");
    assert!(
        message.starts_with("after start: meet.example.test -> 203.0.113.7"),
        "{message}"
    );
    // A reboot of the same instance: only the after-start update.
    root.run(&["run"]);
    assert_eq!(endpoint.hits.load(Ordering::SeqCst), 3);
}

#[test]
fn public_ip_url_is_the_last_resort_for_the_address() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(common::serve_tcp(std::sync::Arc::new(|_, _| {
        (200, b"198.51.100.23\n".to_vec())
    })));
    let root = Root::new();
    root.config(
        "00.toml",
        &format!("[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\npublic_ip_url = \"{url}/ip\"\n"),
    );
    root.run(&["run"]);
    let identity = root.state()["identity"].clone();
    // Holds on machines whose interfaces carry no public IPv4 (these test machines, and
    // any cloud VM behind NAT); an interface with one would rightly win.
    assert_eq!(identity["public_ipv4"], "198.51.100.23", "{identity}");
    assert_eq!(
        identity["public_ipv4_source"], "public_ip_url",
        "{identity}"
    );
    // Config beats it, and then it is not asked.
    root.config("10-ip.toml", "[server]\npublic_ipv4 = \"203.0.113.9\"\n");
    root.run(&["run"]);
    assert_eq!(root.state()["identity"]["public_ipv4_source"], "config");
}

#[test]
fn the_retry_timer_leaves_servers_without_acme_alone() {
    let root = Root::new();
    root.config(
        "00.toml",
        "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\n",
    );
    root.run(&["run"]);
    // Self-signed: the tls step is degraded, but no CA could change that.
    assert_eq!(root.step("tls")["state"], "degraded");
    let before = root.state();
    let out = root.run(&["renew", "--retry"]);
    assert!(
        text(&out).contains("ACME is off; nothing to retry"),
        "{}",
        text(&out)
    );
    assert_eq!(root.state(), before, "the retry run changed the state");
}
