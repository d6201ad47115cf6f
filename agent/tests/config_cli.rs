//! Configuration: drop-in folders, merge order, errors that name file, key and reason,
//! `config check` and `config show`.

mod common;
use common::{text, Root};

const NO_SOURCE: &str = "[source]\nprovider = \"none\"\n";

#[test]
fn later_folder_replaces_same_name_and_names_merge_in_order() {
    let root = Root::new();
    root.write(
        "/usr/lib/meet-agent/config.d/00-defaults.toml",
        "[server]\ndomain = \"vendor.example.org\"\n[source]\nprovider = \"none\"\n",
    );
    root.write(
        "/usr/lib/meet-agent/config.d/50-site.toml",
        "[server]\ncontact_email = \"vendor@example.org\"\n",
    );
    // Same name in /etc replaces the vendor file entirely.
    root.config("50-site.toml", "[server]\ndomain = \"etc.example.org\"\n");
    // A later name overrides an earlier one key by key.
    root.write(
        "/run/meet-agent/config.d/90-run.toml",
        "[server]\ncontact_email = \"ops@example.org\"\n",
    );
    let out = root.run(&["config", "show"]);
    assert!(out.status.success(), "{}", text(&out));
    let shown: toml::Table = String::from_utf8_lossy(&out.stdout).parse().unwrap();
    assert_eq!(shown["server"]["domain"].as_str(), Some("etc.example.org"));
    assert_eq!(
        shown["server"]["contact_email"].as_str(),
        Some("ops@example.org")
    );
}

fn check_fails_with(toml: &str, expected: &[&str]) {
    let root = Root::new();
    root.config("00-source.toml", NO_SOURCE);
    let file = root.config("20-bad.toml", toml);
    let out = root.run(&["config", "check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&file.display().to_string()),
        "names the file: {err}"
    );
    for part in expected {
        assert!(err.contains(part), "expected `{part}` in: {err}");
    }
}

#[test]
fn unknown_key_is_an_error_naming_file_and_key() {
    check_fails_with(
        "[tls]\ncertficate = \"x\"\n",
        &["tls.certficate", "unknown field"],
    );
    check_fails_with(
        "[dns]\nddns_url = \"http://x.example\"\n",
        &["dns.ddns_url", "unknown field"],
    );
}

#[test]
fn wrong_type_is_an_error_naming_key() {
    check_fails_with("[server]\ndomain = 5\n", &["server.domain", "invalid type"]);
    check_fails_with(
        "[source]\ntimeout_seconds = \"soon\"\n",
        &["source.timeout_seconds"],
    );
}

#[test]
fn invalid_values_are_errors_with_reasons() {
    check_fails_with(
        "[server]\ndomain = \"meet_server\"\n",
        &["server.domain", "fully qualified"],
    );
    check_fails_with(
        "[server]\ncontact_email = \"ops.example.org\"\n",
        &["server.contact_email", "not an email"],
    );
    check_fails_with(
        "[source]\nec2_endpoint = \"ftp://169.254.169.254\"\n",
        &["source.ec2_endpoint", "http"],
    );
    check_fails_with(
        "[server]\npublic_ipv4 = \"2001:db8::1\"\n",
        &["server.public_ipv4", "not an IP"],
    );
    check_fails_with(
        "[tls]\ncertificate = \"/x.pem\"\n",
        &["tls.certificate", "tls.key"],
    );
    check_fails_with("[server\n", &["line 1"]);
}

#[test]
fn dns_and_acme_values_are_checked() {
    const D: &str = "[server]\ndomain = \"meet.example.org\"\n";
    check_fails_with(
        &format!("{D}[[dns.update]]\ntype = \"url\"\nurl = \"http://x.example/?h={{domain}}\"\nexpect_body = \"(good\"\n"),
        &["dns.update[0].expect_body", "not a regular expression"],
    );
    check_fails_with(
        &format!(
            "{D}[[dns.update]]\ntype = \"url\"\nurl = \"http://x.example/\"\nmethod = \"PUT\"\n"
        ),
        &["dns.update[0].method", "GET or POST"],
    );
    check_fails_with(
        &format!("{D}[[dns.update]]\ntype = \"url\"\nurl = \"http://x.example/\"\nserver = \"192.0.2.53\"\n"),
        &["dns.update[0].server", "belongs to type = \"rfc2136\""],
    );
    check_fails_with(
        &format!("{D}[[dns.update]]\ntype = \"rfc2136\"\nserver = \"192.0.2.53\"\nkey_name = \"k\"\nkey_secret = \"not base64!\"\n"),
        &["dns.update[0].key_secret", "not base64"],
    );
    check_fails_with(
        &format!("{D}[[dns.update]]\ntype = \"rfc2136\"\nserver = \"192.0.2.53\"\nzone = \"other.org\"\nkey_name = \"k\"\nkey_secret = \"a2V5\"\n"),
        &["dns.update[0].zone", "does not contain server.domain"],
    );
    check_fails_with(
        "[[dns.update]]\ntype = \"url\"\nurl = \"http://x.example/\"\n",
        &["dns.update[0].type", "needs server.domain"],
    );
    check_fails_with(
        "[dns.wait]\nresolvers = [\"dns.example\"]\n",
        &["dns.wait.resolvers", "not an IP address"],
    );
    check_fails_with(
        "[tls.acme]\nenabled = true\neab_kid = \"kid\"\n",
        &["tls.acme.eab_kid", "tls.acme.eab_hmac_key"],
    );
    check_fails_with(
        "[tls.acme]\nenabled = true\ndirectory = \"https://ca.example/dir\"\nstaging_dry_run = true\n",
        &["tls.acme.staging_dry_run", "dry_run_directory"],
    );
    check_fails_with(
        "[tls.acme]\nchallenge = \"dns-01\"\n",
        &["tls.acme.challenge", "unknown variant"],
    );
}

#[test]
fn valid_config_checks_clean() {
    let root = Root::new();
    root.config("00-source.toml", NO_SOURCE);
    root.config(
        "10-site.toml",
        "[server]\ndomain = \"Meet.Example.org.\"\ncontact_email = \"ops@example.org\"\n",
    );
    let out = root.run(&["config", "check"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn show_redacts_inline_key_but_shows_paths() {
    let root = Root::new();
    root.config("00-source.toml", NO_SOURCE);
    root.config(
        "10-tls.toml",
        "[tls]\ncertificate = \"/etc/ssl/meet.pem\"\nkey = \"-----BEGIN PRIVATE KEY-----\\nSECRETSECRET\\n-----END PRIVATE KEY-----\\n\"\n",
    );
    let out = root.run(&["config", "show"]);
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(!shown.contains("SECRETSECRET"), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
    assert!(shown.contains("/etc/ssl/meet.pem"), "{shown}");

    root.config(
        "10-tls.toml",
        "[tls]\ncertificate = \"/etc/ssl/meet.pem\"\nkey = \"/etc/ssl/meet.key\"\n",
    );
    let shown = String::from_utf8_lossy(&root.run(&["config", "show"]).stdout).into_owned();
    assert!(shown.contains("/etc/ssl/meet.key"), "{shown}");

    // Passwords, tokens and keys elsewhere are redacted whatever they look like (even a
    // value starting with / is not taken for a path there).
    root.config(
        "20-secrets.toml",
        "[server]\ndomain = \"meet.example.org\"\n\
         [[dns.update]]\ntype = \"url\"\nurl = \"https://x.example/u?p={password}\"\nusername = \"u\"\npassword = \"/PASSWORD1\"\nheader = \"X-Key\"\ntoken = \"TOKEN2\"\n\
         [[dns.update]]\ntype = \"rfc2136\"\nserver = \"192.0.2.53\"\nkey_name = \"k\"\nkey_secret = \"VFNJR1NFQ1JFVDM=\"\n\
         [tls.acme]\neab_kid = \"kid\"\neab_hmac_key = \"EABKEY4\"\n",
    );
    let out = root.run(&["config", "show"]);
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    for secret in ["PASSWORD1", "TOKEN2", "VFNJR1NFQ1JFVDM", "EABKEY4"] {
        assert!(!shown.contains(secret), "{secret} shown: {shown}");
    }
    assert!(
        shown.contains("https://x.example/u?p={password}"),
        "{shown}"
    );
}

#[test]
fn shipped_default_config_is_valid_and_documents_every_key() {
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../image/config/00-defaults.toml"
    ))
    .unwrap();
    let root = Root::new();
    root.write("/usr/lib/meet-agent/config.d/00-defaults.toml", &shipped);
    root.config("99-test.toml", NO_SOURCE);
    let out = root.run(&["config", "show"]);
    assert!(out.status.success(), "{}", text(&out));
    // Every key `config show` prints appears in the shipped file, commented or not.
    let shown: toml::Table = String::from_utf8_lossy(&out.stdout).parse().unwrap();
    for (section, value) in &shown {
        assert!(
            shipped.contains(&format!("[{section}]")),
            "section [{section}] documented"
        );
        if let Some(table) = value.as_table() {
            for (key, inner) in table {
                match inner.as_table() {
                    Some(sub) => {
                        assert!(
                            shipped.contains(&format!("[{section}.{key}]")),
                            "[{section}.{key}] documented"
                        );
                        for k in sub.keys() {
                            assert!(
                                shipped.contains(&format!("{k} =")),
                                "key {section}.{key}.{k} documented"
                            );
                        }
                    }
                    // Arrays of tables are documented by their `[[...]]` header.
                    None => assert!(
                        shipped.contains(&format!("{key} ="))
                            || shipped.contains(&format!("[[{section}.{key}]]")),
                        "key {section}.{key} documented"
                    ),
                }
            }
        }
    }
    for key in [
        "domain",
        "public_ipv4",
        "public_ipv6",
        "contact_email",
        "certificate",
        "key",
    ] {
        assert!(
            shipped.contains(&format!("{key} =")),
            "key {key} documented"
        );
    }
}

#[test]
fn cert_encode_makes_gzip_base64() {
    let root = Root::new();
    let file = root.write(
        "/in.pem",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    );
    let out = root.run(&["cert", "encode", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        line.starts_with("H4sI"),
        "gzip+base64 starts with the gzip magic: {line}"
    );
    assert!(!line.contains('\n'));
}
