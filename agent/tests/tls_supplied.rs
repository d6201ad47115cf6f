//! Supplied certificates: accepted encodings, checks before install, atomic idempotent
//! install, and the fallback that keeps the server reachable.

mod common;
use common::{text, Root, TestCa};
use meet_agent::encoding::gzip_base64;
use std::os::unix::fs::MetadataExt;
use time::{Duration, OffsetDateTime};

const DOMAIN: &str = "meet.example.test";

fn site(root: &Root, cert: &str, key: &str) {
    root.config("00-source.toml", "[source]\nprovider = \"none\"\n");
    root.config(
        "10-site.toml",
        &format!("[server]\ndomain = \"{DOMAIN}\"\n[tls]\ncertificate = '''{cert}'''\nkey = '''{key}'''\n"),
    );
}

fn tls_step(root: &Root) -> serde_json::Value {
    root.step("tls")
}

fn installed(root: &Root) -> (String, String) {
    (
        std::fs::read_to_string(root.join("/etc/meet-agent/tls/fullchain.pem")).unwrap_or_default(),
        std::fs::read_to_string(root.join("/etc/meet-agent/tls/privkey.pem")).unwrap_or_default(),
    )
}

#[test]
fn pem_files_install_with_a_private_key_and_rerun_changes_nothing() {
    let ca = TestCa::new();
    let leaf = ca.leaf(&[DOMAIN]);
    let root = Root::new();
    let cert = root.write("/srv/fullchain.pem", ca.chain(&leaf));
    let key = root.write("/srv/privkey.pem", &leaf.key_pem);
    site(&root, cert.to_str().unwrap(), key.to_str().unwrap());
    let out = root.run(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(tls_step(&root)["state"], "ok", "{}", tls_step(&root));
    let (chain, key_pem) = installed(&root);
    assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 2);
    assert_eq!(key_pem.trim(), leaf.key_pem.trim());
    // prosody and coturn read the key through the ssl-cert group.
    common::assert_group_readable(&root.join("/etc/meet-agent/tls/privkey.pem"), "ssl-cert");

    let before: Vec<(u64, i64)> = ["fullchain.pem", "privkey.pem"]
        .iter()
        .map(|f| std::fs::metadata(root.join(&format!("/etc/meet-agent/tls/{f}"))).unwrap())
        .map(|m| (m.ino(), m.mtime_nsec()))
        .collect();
    let out = root.run(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let after: Vec<(u64, i64)> = ["fullchain.pem", "privkey.pem"]
        .iter()
        .map(|f| std::fs::metadata(root.join(&format!("/etc/meet-agent/tls/{f}"))).unwrap())
        .map(|m| (m.ino(), m.mtime_nsec()))
        .collect();
    assert_eq!(
        before, after,
        "a rerun with the same input rewrites no file"
    );
    assert!(tls_step(&root)["message"]
        .as_str()
        .unwrap()
        .contains("unchanged"));

    let (code, status) = root.status_json(&[]);
    let certificate = &status["certificate"];
    assert_eq!(certificate["self_signed"], false);
    assert_eq!(certificate["names"][0], DOMAIN);
    assert!(certificate["issuer"]
        .as_str()
        .unwrap()
        .contains("Test Intermediate CA"));
    assert!(certificate["days_left"].as_i64().unwrap() >= 88);
    // Degraded only because this test machine has no system bus for the start step.
    assert_eq!(code, 1, "{status}");
}

#[test]
fn gzip_base64_and_plain_base64_inline_are_accepted() {
    let ca = TestCa::new();
    let leaf = ca.leaf(&[DOMAIN]);
    for encode in [
        |s: &str| gzip_base64(s.as_bytes()).unwrap(),
        |s: &str| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(s)
        },
    ] {
        let root = Root::new();
        site(&root, &encode(&ca.chain(&leaf)), &encode(&leaf.key_pem));
        let out = root.run(&["run"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert_eq!(tls_step(&root)["state"], "ok");
        assert_eq!(installed(&root).1.trim(), leaf.key_pem.trim());
    }
}

/// A bad supplied certificate: the run reports the step failed with `reason`, installs
/// nothing of the supplied pair, and serves a self-signed fallback instead.
fn rejected(cert: &str, key: &str, reason: &str) {
    let root = Root::new();
    site(&root, cert, key);
    let out = root.run(&["run"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let step = tls_step(&root);
    assert_eq!(step["state"], "failed");
    let message = step["message"].as_str().unwrap();
    assert!(
        message.contains(reason),
        "expected `{reason}` in: {message}"
    );
    assert!(
        message.contains("self-signed"),
        "says what serves meanwhile: {message}"
    );
    let (chain, _) = installed(&root);
    assert!(!chain.is_empty(), "a fallback certificate is installed");
    let (code, status) = root.status_json(&[]);
    assert_eq!(code, 2);
    assert_eq!(status["certificate"]["self_signed"], true);
}

#[test]
fn key_of_another_certificate_is_rejected() {
    let ca = TestCa::new();
    let (a, b) = (ca.leaf(&[DOMAIN]), ca.leaf(&[DOMAIN]));
    rejected(
        &ca.chain(&a),
        &b.key_pem,
        "does not belong to the certificate",
    );
}

#[test]
fn certificate_for_another_name_is_rejected() {
    let ca = TestCa::new();
    let leaf = ca.leaf(&["other.example.test"]);
    rejected(
        &ca.chain(&leaf),
        &leaf.key_pem,
        "does not cover meet.example.test",
    );
}

#[test]
fn expired_certificate_is_rejected() {
    let ca = TestCa::new();
    let leaf = ca.leaf_at(
        &[DOMAIN],
        OffsetDateTime::now_utc() - Duration::days(100),
        90,
    );
    rejected(&ca.chain(&leaf), &leaf.key_pem, "expired");
}

#[test]
fn chain_out_of_order_is_rejected() {
    let ca = TestCa::new();
    let leaf = ca.leaf(&[DOMAIN]);
    let reversed = format!("{}{}", leaf.cert_pem, ca.root_pem);
    rejected(&reversed, &leaf.key_pem, "out of order");
}

#[test]
fn garbage_is_rejected_without_echoing_it() {
    let ca = TestCa::new();
    let leaf = ca.leaf(&[DOMAIN]);
    rejected(
        "not-a-certificate%%",
        &leaf.key_pem,
        "not PEM, base64 or gzip+base64",
    );
    let root = Root::new();
    site(&root, &ca.chain(&leaf), "SECRETJUNK%%");
    let out = root.run(&["run"]);
    assert!(!text(&out).contains("SECRETJUNK"));
    assert!(
        !std::fs::read_to_string(root.join("/var/lib/meet-agent/state.json"))
            .unwrap()
            .contains("SECRETJUNK")
    );
}

#[test]
fn certificate_expiring_soon_installs_with_a_warning() {
    let ca = TestCa::new();
    let leaf = ca.leaf_at(
        &[DOMAIN],
        OffsetDateTime::now_utc() - Duration::days(80),
        90,
    );
    let root = Root::new();
    site(&root, &ca.chain(&leaf), &leaf.key_pem);
    let out = root.run(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let step = tls_step(&root);
    assert_eq!(step["state"], "degraded");
    assert!(
        step["message"]
            .as_str()
            .unwrap()
            .contains("expires in 9 days"),
        "{step}"
    );
    assert_eq!(installed(&root).1.trim(), leaf.key_pem.trim());
}

#[test]
fn bad_supplied_certificate_keeps_a_previously_installed_good_one() {
    let ca = TestCa::new();
    let good = ca.leaf(&[DOMAIN]);
    let root = Root::new();
    site(&root, &ca.chain(&good), &good.key_pem);
    assert_eq!(root.run(&["run"]).status.code(), Some(0));
    let wrong = ca.leaf(&["other.example.test"]);
    site(&root, &ca.chain(&wrong), &wrong.key_pem);
    assert_eq!(root.run(&["run"]).status.code(), Some(1));
    assert_eq!(
        installed(&root).1.trim(),
        good.key_pem.trim(),
        "the good pair stays"
    );
    assert!(tls_step(&root)["message"]
        .as_str()
        .unwrap()
        .contains("keeping the installed certificate"));
}

#[test]
fn without_supplied_certificate_a_self_signed_one_is_made_once() {
    let root = Root::new();
    root.config(
        "00.toml",
        &format!("[source]\nprovider = \"none\"\n[server]\ndomain = \"{DOMAIN}\"\n"),
    );
    assert_eq!(root.run(&["run"]).status.code(), Some(0));
    let first = installed(&root);
    assert_eq!(tls_step(&root)["state"], "degraded");
    assert_eq!(root.run(&["run"]).status.code(), Some(0));
    assert_eq!(
        installed(&root),
        first,
        "the fallback is reused, not remade"
    );
    let (code, status) = root.status_json(&[]);
    assert_eq!(code, 1);
    assert_eq!(status["certificate"]["self_signed"], true);
    assert_eq!(status["certificate"]["names"][0], DOMAIN);

    // A new domain gets a new fallback.
    root.config(
        "00.toml",
        "[source]\nprovider = \"none\"\n[server]\ndomain = \"new.example.test\"\n",
    );
    root.run(&["run", "--step", "tls"]);
    assert_ne!(installed(&root), first);
}

/// Without `server.domain` the boot wants the certificate to cover the public address:
/// `config check` asks the same, instead of passing what the boot then refuses.
#[test]
fn config_check_refuses_what_the_boot_refuses_without_a_domain() {
    let ca = TestCa::new();
    let leaf = ca.leaf(&["other.example.test"]);
    let root = Root::new();
    root.config("00-source.toml", "[source]\nprovider = \"none\"\n");
    root.config(
        "10-site.toml",
        &format!(
            "[server]\npublic_ipv4 = \"198.51.100.7\"\n[tls]\ncertificate = '''{}'''\nkey = '''{}'''\n",
            ca.chain(&leaf),
            leaf.key_pem
        ),
    );
    let out = root.run(&["config", "check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("key `tls.certificate`") && text(&out).contains("198.51.100.7"),
        "{}",
        text(&out)
    );
    let out = root.run(&["run"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let message = tls_step(&root)["message"].as_str().unwrap().to_string();
    assert!(message.contains("198.51.100.7"), "{message}");
}
