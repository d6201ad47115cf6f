//! The certificate plan end to end: a switched ACME directory orders at once, asking for
//! renewal information creates no account (so the staging dry run still guards the first
//! production order), the installed pair survives a run killed between its writes, status
//! catches a key that does not belong to the certificate, and killed runs' temporary
//! files (one a copy of the key) are removed.

mod common;
#[path = "common/pebble.rs"]
mod pebble;
use common::{text, Root, TestCa};
use pebble::Pebble;
use std::path::Path;

const DOMAIN: &str = "meet.example.test";
const TLS: &str = "/etc/meet-agent/tls";

/// The account files the agent holds, by file name.
fn accounts(root: &Root) -> Vec<String> {
    std::fs::read_dir(root.join("/var/lib/meet-agent/acme"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("account-"))
                .collect()
        })
        .unwrap_or_default()
}

/// Installs `leaf` from the test CA the way an operator (or an older agent) would: plain
/// writes at the fixed paths.
fn place(root: &Root, ca: &TestCa, leaf: &common::Leaf) {
    root.write(&format!("{TLS}/fullchain.pem"), ca.chain(leaf));
    root.write(&format!("{TLS}/privkey.pem"), &leaf.key_pem);
}

#[test]
fn switching_the_acme_directory_orders_a_new_certificate_at_once() {
    let pebble = Pebble::start(0);
    pebble.point_at_loopback(DOMAIN);
    let root = Root::new();
    root.config("00.toml", &pebble.agent_config(DOMAIN));
    let out = root.run(&["run"]);
    assert_eq!(root.step("tls")["state"], "ok", "{}", text(&out));
    assert_eq!(pebble.issued(), 1);
    let out = root.run(&["run"]);
    assert_eq!(
        pebble.issued(),
        1,
        "same CA, fresh certificate: kept\n{}",
        text(&out)
    );

    // Another directory (here the same pebble under another URL, as staging and production
    // are two URLs): the fresh certificate is not that CA's, so it orders now.
    let other = pebble.directory.replace("127.0.0.1", "localhost");
    root.config(
        "10-other-ca.toml",
        &format!("[tls.acme]\ndirectory = \"{other}\"\n"),
    );
    let out = root.run(&["run"]);
    let message = root.message("tls");
    assert_eq!(root.step("tls")["state"], "ok", "{message}\n{}", text(&out));
    assert_eq!(pebble.issued(), 2, "{message}");
    assert!(message.contains("issued by"), "{message}");
    common::verify_installed(&root, &pebble.issuing_root(), DOMAIN).unwrap();
    // And that CA's certificate is kept from now on.
    root.run(&["run"]);
    assert_eq!(pebble.issued(), 2, "{}", root.message("tls"));
}

#[test]
fn renewal_information_creates_no_account_and_the_dry_run_still_guards_the_first_order() {
    let pebble = Pebble::start(0);
    pebble.point_at_loopback(DOMAIN);
    let root = Root::new();
    root.config("00.toml", &pebble.agent_config(DOMAIN));
    root.config(
        "10-dry.toml",
        &format!(
            "[tls.acme]\nstaging_dry_run = true\ndry_run_directory = \"{}?staging\"\n",
            pebble.directory
        ),
    );
    // A good certificate for the name from this CA (so it has the authority key identifier
    // renewal information is asked by), installed without a record of its issuer, as an
    // older agent left it: kept, and the CA is asked for its renewal information.
    let elsewhere = Root::new();
    elsewhere.config("00.toml", &pebble.agent_config(DOMAIN));
    let out = elsewhere.run(&["run", "--step", "tls"]);
    assert_eq!(pebble.issued(), 1, "{}", text(&out));
    for name in ["fullchain.pem", "privkey.pem"] {
        let bytes = std::fs::read(elsewhere.join(&format!("{TLS}/{name}"))).unwrap();
        root.write(&format!("{TLS}/{name}"), bytes);
    }
    let out = root.run(&["run"]);
    assert!(
        root.message("tls").starts_with("keeping the certificate"),
        "{}",
        text(&out)
    );
    assert_eq!(accounts(&root), Vec::<String>::new(), "{}", text(&out));
    assert_eq!(pebble.issued(), 1);

    // Now it is due: the first production order is preceded by the dry run.
    let ca = TestCa::new();
    let old = ca.leaf_at(
        &[DOMAIN],
        time::OffsetDateTime::now_utc() - time::Duration::days(80),
        90,
    );
    place(&root, &ca, &old);
    let out = root.run(&["run"]);
    assert_eq!(root.step("tls")["state"], "ok", "{}", text(&out));
    assert_eq!(
        pebble.issued(),
        3,
        "one elsewhere, then the dry run and the real order\n{}",
        text(&out)
    );
}

/// A site with no CA: the agent's own self-signed certificate.
fn self_signed_site(root: &Root) {
    root.config(
        "00.toml",
        &format!("[source]\nprovider = \"none\"\n[server]\ndomain = \"{DOMAIN}\"\n"),
    );
}

/// The key of the live pair matches its certificate, by status's own check.
fn status_says_matched(root: &Root) -> bool {
    let (_, status) = root.status_json(&[]);
    // A report with its reasons and the installed certificate in it, or the answer means
    // nothing.
    assert!(status["reasons"].is_array(), "{status:#}");
    assert!(status["certificate"]["path"].is_string(), "{status:#}");
    !status["reasons"].to_string().contains("does not belong")
}

#[test]
fn a_run_killed_between_writes_leaves_the_pair_matched_and_status_catches_a_planted_mismatch() {
    let root = Root::new();
    self_signed_site(&root);
    assert_eq!(root.run(&["run"]).status.code(), Some(0));
    let tls = root.join(TLS);
    let live = std::fs::read_link(tls.join("live")).unwrap();
    assert_eq!(
        std::fs::read_link(tls.join("privkey.pem")).unwrap(),
        Path::new("live/privkey.pem")
    );
    assert!(status_says_matched(&root));

    // A run killed after writing the next version's key (and a temporary copy of it),
    // before the chain and the swap: what is served is still the old, matched pair.
    let ca = TestCa::new();
    let other = ca.leaf(&[DOMAIN]);
    let next = tls.join("v-99");
    std::fs::create_dir(&next).unwrap();
    std::fs::write(next.join("privkey.pem"), &other.key_pem).unwrap();
    std::fs::write(tls.join(".privkey.pem.tmp-4194303"), &other.key_pem).unwrap();
    assert!(status_says_matched(&root));
    assert_eq!(std::fs::read_link(tls.join("live")).unwrap(), live);

    // The next run removes what the killed run left and keeps the pair.
    let out = root.run(&["run", "--step", "tls"]);
    assert!(!next.exists(), "{}", text(&out));
    assert!(!tls.join(".privkey.pem.tmp-4194303").exists());
    assert!(status_says_matched(&root));

    // A key planted beside the certificate is reported.
    std::fs::write(tls.join("privkey.pem"), &other.key_pem).unwrap();
    let (code, status) = root.status_json(&[]);
    assert_ne!(code, 0);
    let reasons = status["reasons"].to_string();
    assert!(reasons.contains("does not belong"), "{status}");
    assert!(reasons.contains("privkey.pem"), "{status}");
}

#[test]
fn plain_files_of_an_older_agent_are_migrated_behind_the_live_link() {
    let root = Root::new();
    self_signed_site(&root);
    let ca = TestCa::new();
    let old = ca.leaf(&[DOMAIN]);
    place(&root, &ca, &old);
    let tls = root.join(TLS);
    assert!(!std::fs::symlink_metadata(tls.join("fullchain.pem"))
        .unwrap()
        .file_type()
        .is_symlink());
    let out = root.run(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The operator's certificate is kept (it is good for the name), now behind the link.
    for name in ["fullchain.pem", "privkey.pem"] {
        assert_eq!(
            std::fs::read_link(tls.join(name)).unwrap(),
            Path::new("live").join(name)
        );
    }
    assert_eq!(
        std::fs::read_to_string(tls.join("privkey.pem"))
            .unwrap()
            .trim(),
        old.key_pem.trim()
    );
    assert!(status_says_matched(&root));
}
