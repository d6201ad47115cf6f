//! The effective configuration and the commands that read it:
//! - `run` persists it, redacted, to /run/meet-agent/effective.json; `idle-check` and
//!   `user` then ask the instance source nothing (an IMDS stand-in counts requests), and
//!   without the file they load for themselves and say so;
//! - drop-ins follow systemd's precedence (/etc over /run over /usr/lib);
//! - an image with an empty machine-id keeps its instance id (and secrets) at its second boot;
//! - a failed boot-phase DDNS update stays in status after a good after-start one, and
//!   READY's summary and the exit code agree;
//! - `config check` decodes supplied certificate material;
//! - `user list` reads prosody's accounts below `--root`, whatever the environment says.

mod common;
use common::{imds_standin, serve_tcp, text, Root, TestCa};
use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const JWT_SECRET: &str = "jwt-secret-that-must-stay-out-of-run-0123456789";

#[test]
fn idle_check_and_user_after_a_run_ask_the_instance_source_nothing() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let user_data = format!(
        "[server]\ndomain = \"meet.example.org\"\n[jitsi]\nauth = \"jwt\"\njwt_app_id = \"meet\"\njwt_app_secret = \"{JWT_SECRET}\"\n"
    );
    let values = HashMap::from([
        ("/latest/meta-data/instance-id", b"i-0feedface".to_vec()),
        ("/latest/meta-data/public-ipv4", b"203.0.113.10".to_vec()),
        ("/latest/user-data", user_data.into_bytes()),
    ]);
    let url = rt.block_on(serve_tcp(imds_standin(values, None, Some(hits.clone()))));
    let root = Root::new();
    root.config(
        "00-source.toml",
        &format!("[source]\nprovider = \"ec2\"\nec2_endpoint = \"{url}\"\ntimeout_seconds = 2\n"),
    );

    let out = root.run(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let file = root.join("/run/meet-agent/effective.json");
    let saved = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(!saved.contains(JWT_SECRET), "{saved}");
    let json: serde_json::Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(json["instance_id"], "i-0feedface", "{json:#}");
    assert_eq!(json["operations"]["domain"], "meet.example.org");
    assert_eq!(json["identity"]["public_ipv4"], "203.0.113.10");
    assert_eq!(json["config"]["jitsi"]["jwt_app_secret"], "<redacted>");
    let after_run = hits.load(Ordering::SeqCst);
    assert!(after_run > 0, "the run asked the stand-in");

    let out = root.run(&["idle-check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("idle shutdown is off"),
        "{}",
        text(&out)
    );
    assert!(out.stderr.is_empty(), "{}", text(&out));
    // The user command reads the same settings (and refuses: this site uses JWT).
    let out = root.run(&["user", "list"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("jitsi.auth is \"jwt\""),
        "{}",
        text(&out)
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        after_run,
        "no request after the run"
    );

    // An operator's edit since the run: loaded afresh, said on stderr.
    root.config("50-edit.toml", "[schedule]\nidle_shutdown_minutes = 0\n");
    let out = root.run(&["idle-check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the drop-in configuration changed"),
        "{}",
        text(&out)
    );
    let after_edit = hits.load(Ordering::SeqCst);
    assert!(after_edit > after_run);
    // The next run records the edit; the commands use the file again.
    let out = root.run(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let after_run = hits.load(Ordering::SeqCst);
    let out = root.run(&["idle-check"]);
    assert!(out.stderr.is_empty(), "{}", text(&out));
    assert_eq!(hits.load(Ordering::SeqCst), after_run);

    // Without the file (no run this boot): a full load, said on stderr.
    std::fs::remove_file(&file).unwrap();
    let out = root.run(&["idle-check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("effective.json is missing")
            && stderr.contains("reading the configuration and instance data instead"),
        "{}",
        text(&out)
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(hits.load(Ordering::SeqCst) > after_run);
}

#[test]
fn a_run_that_cannot_load_removes_the_effective_configuration() {
    let root = Root::new();
    root.config(
        "00.toml",
        "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\n",
    );
    root.run(&["run"]);
    let file = root.join("/run/meet-agent/effective.json");
    assert!(file.exists());
    root.config("10-bad.toml", "[server]\ndomain = \"not a name\"\n");
    let out = root.run(&["run"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        !file.exists(),
        "stale settings are not left for the commands"
    );
    let out = root.run(&["idle-check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("10-bad.toml"),
        "{}",
        text(&out)
    );
}

#[test]
fn drop_ins_in_etc_override_run_which_overrides_usr_lib() {
    let root = Root::new();
    root.write(
        "/usr/lib/meet-agent/config.d/50-site.toml",
        "[source]\nprovider = \"none\"\n[server]\ndomain = \"vendor.example.org\"\n",
    );
    root.write(
        "/run/meet-agent/config.d/50-site.toml",
        "[source]\nprovider = \"none\"\n[server]\ndomain = \"run.example.org\"\n",
    );
    let shown = |root: &Root| {
        let out = root.run(&["config", "show"]);
        assert!(out.status.success(), "{}", text(&out));
        let table: toml::Table = String::from_utf8_lossy(&out.stdout).parse().unwrap();
        table["server"]["domain"].as_str().unwrap().to_string()
    };
    assert_eq!(shown(&root), "run.example.org");
    root.config(
        "50-site.toml",
        "[source]\nprovider = \"none\"\n[server]\ndomain = \"etc.example.org\"\n",
    );
    assert_eq!(shown(&root), "etc.example.org");
    // Key by key, too: a later name in /run still overrides an earlier name in /etc.
    root.write(
        "/run/meet-agent/config.d/90-late.toml",
        "[server]\ndomain = \"late.example.org\"\n",
    );
    assert_eq!(shown(&root), "late.example.org");
}

#[test]
fn an_image_with_an_empty_machine_id_keeps_its_instance_at_the_second_boot() {
    let root = Root::new();
    root.write("/etc/machine-id", "");
    root.config(
        "00.toml",
        "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\n",
    );
    let out = root.run(&["run"]);
    assert_eq!(root.step("secrets")["state"], "ok", "{}", text(&out));
    let machine_id = std::fs::read_to_string(root.join("/etc/machine-id")).unwrap();
    let machine_id = machine_id.trim();
    assert_eq!(
        machine_id.len(),
        32,
        "a machine-id was made: {machine_id:?}"
    );
    assert_eq!(root.state()["instance_id"], machine_id);
    assert_eq!(root.step("secrets")["instance_id"], machine_id);
    let secrets = std::fs::read(root.join("/var/lib/meet-agent/secrets.json")).unwrap();
    let secrets_record = root.step("secrets");

    // The second boot: the same instance, the same secrets, the secrets step not rerun.
    let out = root.run(&["run"]);
    assert_eq!(root.state()["instance_id"], machine_id, "{}", text(&out));
    assert_eq!(
        std::fs::read(root.join("/var/lib/meet-agent/secrets.json")).unwrap(),
        secrets
    );
    assert_eq!(root.step("secrets"), secrets_record);
}

#[test]
fn a_failed_boot_ddns_update_stays_visible_after_a_good_after_start_one() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    // The first update is refused, the later one accepted.
    let url = rt.block_on(serve_tcp(Arc::new(move |_req, _body| {
        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            (200, b"badauth".to_vec())
        } else {
            (200, b"good 203.0.113.7".to_vec())
        }
    })));
    let root = Root::new();
    root.write("/etc/machine-id", "66666666666666666666666666666666\n");
    root.config(
        "00.toml",
        &format!(
            "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\npublic_ipv4 = \"203.0.113.7\"\n\
             [dns]\nupdate_on = [\"boot\", \"after-start\"]\n\
             [[dns.update]]\ntype = \"url\"\nurl = \"{url}/nic/update?hostname={{domain}}&myip={{ip}}\"\nexpect_body = \"^good\"\n"
        ),
    );
    let out = root.run(&["run"]);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    // The exit code says a step failed, and so do the record, status and READY's summary.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let ddns = root.step("ddns");
    assert_eq!(ddns["state"], "failed", "{ddns}");
    let message = ddns["message"].as_str().unwrap();
    assert!(
        message.starts_with("after start: meet.example.test -> 203.0.113.7")
            && message.contains("good 203.0.113.7")
            && message.contains("; at boot: meet.example.test -> 203.0.113.7")
            && message.contains("badauth"),
        "{message}"
    );
    let (code, status) = root.status_json(&[]);
    assert_eq!(code, 2, "{status:#}");
    assert!(
        status["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().contains("at boot:")),
        "{status:#}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary = stderr
        .lines()
        .find(|l| l.contains(" ok, ") && l.contains(" not configured"))
        .unwrap_or_else(|| panic!("no summary line: {stderr}"));
    assert!(summary.contains("failed: "), "{summary}");
}

#[test]
fn config_check_decodes_the_supplied_certificate() {
    let ca = TestCa::new();
    let leaf = ca.leaf(&["meet.example.test"]);
    let other = ca.leaf(&["meet.example.test"]);
    let root = Root::new();
    let check = |cert: &str, key: &str| {
        let file = root.config(
            "00.toml",
            &format!("[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\n[tls]\ncertificate = '''{cert}'''\nkey = '''{key}'''\n"),
        );
        (root.run(&["config", "check"]), file)
    };
    let (out, _) = check(&ca.chain(&leaf), &leaf.key_pem);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let expect_failure = |out: std::process::Output, file: std::path::PathBuf, part: &str| {
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&file.display().to_string()) && err.contains("tls.certificate"),
            "names the file and the key: {err}"
        );
        assert!(err.contains(part), "expected `{part}` in: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    };
    // Neither PEM nor base64 nor gzip+base64.
    let (out, file) = check("this is no certificate", &leaf.key_pem);
    expect_failure(out, file, "not PEM, base64 or gzip+base64");
    // PEM armour around garbage.
    let (out, file) = check(
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        &leaf.key_pem,
    );
    expect_failure(out, file, "certificate");
    // A certificate with another certificate's key.
    let (out, file) = check(&ca.chain(&leaf), &other.key_pem);
    expect_failure(out, file, "does not belong to the certificate");
    // A file that is not there.
    let (out, file) = check("/nonexistent/meet-agent-test/cert.pem", &leaf.key_pem);
    expect_failure(out, file, "/nonexistent/meet-agent-test/cert.pem");
    // Nothing was installed by checking.
    assert!(!root.join("/etc/meet-agent/tls/fullchain.pem").exists());
}

#[test]
fn user_list_reads_the_accounts_below_root_whatever_the_environment_says() {
    let root = Root::new();
    root.config(
        "00.toml",
        "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\n[jitsi]\nauth = \"secure-domain\"\n",
    );
    root.write(
        "/var/lib/prosody/meet%2eexample%2etest/accounts/alice.dat",
        "return {};\n",
    );
    // A data folder elsewhere, as the old environment seam named it: not looked at.
    let elsewhere = tempfile::tempdir().unwrap();
    let stray = elsewhere
        .path()
        .join("meet%2eexample%2etest/accounts/mallory.dat");
    std::fs::create_dir_all(stray.parent().unwrap()).unwrap();
    std::fs::write(&stray, "return {};\n").unwrap();
    let data = elsewhere.path().display().to_string();
    let out = root.run_env(&["user", "list"], &[("MEET_AGENT_PROSODY_DATA", &data)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "alice\n",
        "{}",
        text(&out)
    );
}
