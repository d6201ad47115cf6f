//! Hostile input (issue 19, items 16 to 20), against the real binary on a test root:
//! SSH key lines sshd would read differently, repeated and countless keys; things planted
//! at the run lock's path; user names prosody would refuse or store otherwise (decided by
//! the real prosodyctl); a role's missing key blamed on a built-in default; a supplied
//! chain given leaf last.

mod common;

use base64::Engine;
use common::{text, Root, TestCa};
use std::io::Write;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const DOMAIN: &str = "local.example.test";

/// A real ed25519 public key (as in access.rs's tests).
const ED25519: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMa0tGi/fmhJkD1Ti3p6MlTw0sywZQmBQ4kyYWYBkVA1";

fn site(root: &Root, extra: &str) {
    root.write("/etc/machine-id", "19191919191919191919191919191919\n");
    root.config(
        "00-site.toml",
        &format!("[source]\nprovider = \"none\"\n[server]\ndomain = \"{DOMAIN}\"\npublic_ipv4 = \"203.0.113.19\"\n[dns.wait]\nenabled = false\n{extra}"),
    );
}

fn agent(root: &Root, args: &[&str]) -> Command {
    root.command(args, &[])
}

/// Runs `cmd` with `stdin`, killing it and failing the test after `limit`: a hang is one
/// of the findings.
fn finishes_within(mut cmd: Command, stdin: &str, limit: Duration, what: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The agent may be gone before it reads stdin: no error then.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    common::wait_bounded(child, limit, what)
}

// ---- 16. SSH keys ----

/// `[access] ssh_authorized_keys` as a TOML array of basic strings (`\uXXXX` escapes kept).
fn keys_config(lines: &[String]) -> String {
    let quoted: Vec<String> = lines.iter().map(|l| format!("\"{l}\"")).collect();
    format!("[access]\nssh_authorized_keys = [{}]\n", quoted.join(", "))
}

/// A well-formed ed25519 key line whose key data is `n` (distinct keys for the cap).
fn numbered_key(n: u32) -> String {
    let mut blob = Vec::new();
    blob.extend_from_slice(&11u32.to_be_bytes());
    blob.extend_from_slice(b"ssh-ed25519");
    blob.extend_from_slice(&32u32.to_be_bytes());
    let mut data = [0u8; 32];
    data[..4].copy_from_slice(&n.to_be_bytes());
    blob.extend_from_slice(&data);
    format!(
        "ssh-ed25519 {} key{n}",
        base64::engine::general_purpose::STANDARD.encode(blob)
    )
}

#[test]
fn ssh_key_lines_with_whitespace_sshd_does_not_split_on_are_refused_naming_the_character() {
    let (kind, blob) = ED25519.split_once(' ').unwrap();
    // No-break space, em space, ideographic space, next line, CR, VT, FF, ESC, BEL, DEL.
    for code in [
        0x00A0u32, 0x2003, 0x3000, 0x0085, 0x000D, 0x000B, 0x000C, 0x001B, 0x0007, 0x007F,
    ] {
        let escaped = format!("\\u{code:04X}");
        for line in [
            format!("{kind}{escaped}{blob} admin@laptop"),
            format!("{kind} {blob}{escaped}admin@laptop"),
            format!("{kind} {blob} admin{escaped}laptop"),
        ] {
            let root = Root::new();
            site(&root, &keys_config(&[ED25519.to_string(), line.clone()]));
            let out = root.run(&["config", "check"]);
            let all = text(&out);
            assert_eq!(out.status.code(), Some(1), "{line}: {all}");
            assert!(
                all.contains("key `access.ssh_authorized_keys`: entry 2")
                    && all.contains(&format!("U+{code:04X}"))
                    && (all.contains("spaces only") || all.contains("line break")),
                "{line}: {all}"
            );
        }
    }
    // Spaces and tabs are what sshd splits on: accepted.
    let root = Root::new();
    site(
        &root,
        &keys_config(&[format!("{kind}\\t{blob}  admin\\tlaptop")]),
    );
    let out = root.run(&["config", "check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn repeated_ssh_keys_are_written_once_and_the_step_says_how_many_were_dropped() {
    let root = Root::new();
    // The same key 5000 times, under two comments, and a second key among them.
    let mut lines = vec![format!("{ED25519} first")];
    lines.extend((0..4998).map(|_| format!("{ED25519} again")));
    lines.push(numbered_key(7));
    lines.push(ED25519.to_string());
    site(&root, &keys_config(&lines));
    let out = root.run(&["run", "--step", "access"]);
    let written =
        std::fs::read_to_string(root.join("/etc/meet-agent/ssh/authorized_keys.root")).unwrap();
    let keys: Vec<&str> = written.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        keys,
        [format!("{ED25519} first"), numbered_key(7)],
        "{}",
        text(&out)
    );
    let message = root.message("access");
    assert!(
        message.contains("2 SSH keys may log in as root (4999 repeated entries of access.ssh_authorized_keys dropped)"),
        "{message}"
    );
    assert!(message.len() < 1000, "{} bytes: {message}", message.len());
}

#[test]
fn more_ssh_keys_than_the_cap_are_refused_with_the_cap_named() {
    let root = Root::new();
    let hundred: Vec<String> = (0..100).map(numbered_key).collect();
    site(&root, &keys_config(&hundred));
    let out = root.run(&["config", "check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let root = Root::new();
    let mut more = hundred.clone();
    more.push(numbered_key(100));
    site(&root, &keys_config(&more));
    let out = root.run(&["config", "check"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("key `access.ssh_authorized_keys`: lists more than 100 different keys"),
        "{all}"
    );
}

// ---- 17. The run lock ----

/// A root where `user add` gets as far as the lock (secure-domain, a prosody config).
fn user_site(root: &Root) {
    common::prosody_user_store(root, DOMAIN);
    site(root, "[jitsi]\nauth = \"secure-domain\"\n");
}

/// Puts something at the lock's path.
type Plant<'a> = dyn Fn(&Path) + 'a;

#[test]
fn things_planted_at_the_run_lock_are_expected_failures_naming_what_to_remove() {
    let outside = tempfile::tempdir().unwrap();
    let plants: [(&str, &Plant<'_>); 4] = [
        ("a symbolic link", &|lock| {
            symlink(outside.path().join("made-by-root"), lock).unwrap()
        }),
        ("a symbolic link", &|lock| {
            nix::unistd::mkfifo(&outside.path().join("fifo"), nix::sys::stat::Mode::S_IRWXU).ok();
            symlink(outside.path().join("fifo"), lock).unwrap()
        }),
        ("a folder", &|lock| std::fs::create_dir(lock).unwrap()),
        ("a FIFO", &|lock| {
            nix::unistd::mkfifo(lock, nix::sys::stat::Mode::S_IRWXU).unwrap()
        }),
    ];
    for (what, plant) in plants {
        let root = Root::new();
        user_site(&root);
        let lock = root.join("/var/lib/meet-agent/run.lock");
        std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
        plant(&lock);
        for args in [
            &["run", "--step", "identity"][..],
            &["renew"][..],
            &["user", "add", "alice"][..],
        ] {
            let out = finishes_within(
                agent(&root, args),
                "a good password\n",
                Duration::from_secs(30),
                &format!("{args:?} with {what} at run.lock"),
            );
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{args:?}, {what}: {stderr}");
            assert!(
                stderr.contains(&format!(
                    "refused to use the lock {}: it is {what}",
                    lock.display()
                )) && stderr.contains(&format!("remove it (`rm {}`", lock.display())),
                "{args:?}, {what}: {stderr}"
            );
            assert!(!stderr.contains("unexpected"), "{stderr}");
        }
        // The idle check neither hangs on a FIFO nor follows a link: it says what to remove.
        root.config("20-idle.toml", "[schedule]\nidle_shutdown_minutes = 30\n");
        let out = finishes_within(
            agent(&root, &["idle-check"]),
            "",
            Duration::from_secs(30),
            &format!("idle-check with {what} at run.lock"),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("{}: it is {what}", lock.display())),
            "idle-check, {what}: {stderr}"
        );
        assert!(!outside.path().join("made-by-root").exists());
    }
}

// ---- 18. User names, decided as prosody decides them ----

/// What prosody makes of `name`: the account it stores, or `None` when it refuses.
/// `prosodyctl register` (which `meet-agent user add` runs) on a data folder of its own.
fn prosody_decides(config: &Path, data: &Path, name: &str) -> Option<String> {
    let before = meet_agent::jitsi::prosodyctl::list(data, DOMAIN).unwrap_or_default();
    let mut child = Command::new("prosodyctl")
        .arg("--config")
        .arg(config)
        .args(["register", name, DOMAIN])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("prosodyctl must be installed");
    let _ = child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a good password\na good password\n");
    let out = child.wait_with_output().unwrap();
    let after = meet_agent::jitsi::prosodyctl::list(data, DOMAIN).unwrap_or_default();
    let added: Vec<String> = after.into_iter().filter(|n| !before.contains(n)).collect();
    match (out.status.success(), added.as_slice()) {
        (true, [one]) => Some(one.clone()),
        (false, []) => None,
        (ok, added) => panic!(
            "{name:?}: prosodyctl said {ok} and added {added:?}: {}",
            text(&out)
        ),
    }
}

/// What `meet-agent user add` makes of `name`: the account it reports and stored, or
/// `None` when it refused the name itself (a prosodyctl failure is a test failure: the
/// name passed our check and prosody refused it).
fn we_decide(root: &Root, name: &str) -> Option<String> {
    let out = finishes_within(
        agent(root, &["user", "add", "--", name]),
        "a good password\n",
        Duration::from_secs(60),
        "user add",
    );
    let all = text(&out);
    if out.status.code() == Some(1) && all.contains("is not a user name") {
        assert!(!all.contains("prosodyctl"), "{name:?}: {all}");
        return None;
    }
    assert_eq!(out.status.code(), Some(0), "{name:?}: {all}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let added = stdout
        .trim()
        .strip_prefix("added ")
        .and_then(|jid| jid.strip_suffix(&format!("@{DOMAIN}")))
        .unwrap_or_else(|| panic!("{name:?}: {all}"))
        .to_string();
    let stored =
        meet_agent::jitsi::prosodyctl::list(&root.join("/var/lib/prosody"), DOMAIN).unwrap();
    assert!(
        stored.contains(&added),
        "{name:?}: {added} not in {stored:?}"
    );
    Some(added)
}

#[test]
fn user_names_are_accepted_refused_and_stored_as_the_real_prosody_does() {
    let root = Root::new();
    user_site(&root);
    let own = root.join("/prosody-alone");
    std::fs::create_dir_all(&own).unwrap();
    let prosody = nix::unistd::User::from_name("prosody").unwrap().unwrap();
    nix::unistd::chown(&own, Some(prosody.uid), Some(prosody.gid)).unwrap();
    let config = root.write(
        "/prosody-alone.cfg.lua",
        format!(
            "data_path = \"{}\"\nmodules_enabled = {{ }}\nVirtualHost \"{DOMAIN}\"\n    authentication = \"internal_hashed\"\n",
            own.display()
        ),
    );
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    // Each name prepares to a different account, so that every one is a new one.
    let names = [
        "Alice",       // ASCII upper case: folded
        "ＦＵＬＬ",    // full-width letters: NFKC
        "Straße",      // ß: case folding is not lower-casing
        "ǅemal",       // a title-case digraph
        "ﬀoo",         // a ligature
        "㎏x",         // a compatibility square
        "bo\u{AD}b",   // a soft hyphen: mapped to nothing
        "ca\u{200D}t", // a zero-width joiner: mapped to nothing
        "שלום",        // right-to-left only
        "ꭰꭱ",          // Cherokee small letters: Unicode 8, not in 3.2
        "\u{1E900}x",  // Adlam: Unicode 9
        "\u{1F130}b",  // SQUARED LATIN CAPITAL A: Unicode 6, NFKC would make it A
        "ab@c",        // nodeprep's own prohibited characters
        "a:b",
        "a\u{2003}b", // other whitespace
        "aא",         // left-to-right and right-to-left mixed
        "سلام1",       // right-to-left not ending in a right-to-left letter
        "a\u{E000}",  // private use
        "j.doe-2_x",
    ];
    let mut mismatches = Vec::new();
    for name in names {
        let theirs = prosody_decides(&config, &own, name);
        let ours = we_decide(&root, name);
        if theirs != ours {
            mismatches.push(format!("{name:?}: prosody {theirs:?}, meet-agent {ours:?}"));
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

#[test]
fn a_name_prosody_would_refuse_is_refused_in_our_words() {
    for (name, words) in [
        ("ꭰꭱ", "(U+AB70) came into Unicode after version 3.2"),
        ("aא", "mixes right-to-left letters"),
        ("ab@c", "`@` is not allowed in XMPP user names"),
        ("a\u{2003}b", "(U+2003) is not allowed in XMPP user names"),
    ] {
        let err = meet_agent::users::prepare_name(name)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("is not a user name") && err.contains(words),
            "{name:?}: {err}"
        );
        assert!(!err.contains("prohibited"), "library words: {err}");
    }
}

// ---- 19. A role's missing key ----

#[test]
fn a_key_the_role_needs_is_blamed_on_the_file_that_set_the_role() {
    let root = Root::new();
    site(&root, "");
    root.config("20-role.toml", "[server]\nrole = \"videobridge\"\n");
    let out = root.run(&["config", "check"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains(
            "20-role.toml: key `server.role`: is \"videobridge\", which needs `bridge.join`"
        ),
        "{all}"
    );
    assert!(!all.contains("built-in default"), "{all}");

    // A signaling node given one of the pair: the file that set that one.
    let root = Root::new();
    site(&root, "");
    root.config("20-role.toml", "[server]\nrole = \"signaling\"\n");
    root.config(
        "30-key.toml",
        "[bridge]\nauth_key = \"/etc/meet-agent/bridge.key\"\n",
    );
    let out = root.run(&["config", "check"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("30-key.toml: key `bridge.auth_key`: is set but `bridge.join` is not"),
        "{all}"
    );
    assert!(!all.contains("built-in default"), "{all}");

    let key = root.join("/srv/bridge.key");
    std::fs::create_dir_all(key.parent().unwrap()).unwrap();
    let made = root.run(&[
        "bridge",
        "token",
        "--new",
        "--domain",
        DOMAIN,
        "--key-out",
        key.to_str().unwrap(),
    ]);
    assert_eq!(made.status.code(), Some(0), "{}", text(&made));
    let token = String::from_utf8_lossy(&made.stdout).trim().to_string();
    root.config("30-key.toml", &format!("[bridge]\njoin = \"{token}\"\n"));
    let out = root.run(&["config", "check"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("30-key.toml: key `bridge.join`: is set but `bridge.auth_key` is not"),
        "{all}"
    );
    assert!(!all.contains("built-in default"), "{all}");
}

// ---- 20. A supplied chain out of order ----

fn tls_site(root: &Root, cert: &str, key: &str) {
    site(
        root,
        &format!("[tls]\ncertificate = '''{cert}'''\nkey = '''{key}'''\n"),
    );
}

/// The DER certificates of PEM text, in order.
fn ders(pem_text: &str) -> Vec<Vec<u8>> {
    pem::parse_many(pem_text)
        .unwrap()
        .into_iter()
        .map(|p| p.into_contents())
        .collect()
}

#[test]
fn a_chain_given_leaf_last_is_installed_leaf_first_and_config_check_agrees() {
    let ca = TestCa::new();
    let leaf = ca.leaf(&[DOMAIN]);
    let (l, i, r) = (
        leaf.cert_pem.as_str(),
        ca.inter_pem.as_str(),
        ca.root_pem.as_str(),
    );
    for (given, want) in [
        (vec![i, l], vec![l, i]),
        (vec![r, i, l], vec![l, i, r]),
        (vec![i, r, l], vec![l, i, r]),
        (vec![r, l, i], vec![l, i, r]),
    ] {
        let root = Root::new();
        tls_site(&root, &given.concat(), &leaf.key_pem);
        let out = root.run(&["config", "check"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        root.run(&["run", "--step", "tls"]);
        let step = root.step("tls");
        assert_eq!(step["state"], "ok", "{step}");
        assert!(
            step["message"]
                .as_str()
                .unwrap()
                .contains("did not list the key's certificate first"),
            "{step}"
        );
        let installed =
            std::fs::read_to_string(root.join("/etc/meet-agent/tls/fullchain.pem")).unwrap();
        assert_eq!(ders(&installed), ders(&want.concat()));
    }
}

#[test]
fn a_key_that_belongs_to_no_certificate_given_is_said_plainly() {
    let ca = TestCa::new();
    let (leaf, other) = (ca.leaf(&[DOMAIN]), ca.leaf(&[DOMAIN]));
    for chain in [
        format!("{}{}", ca.inter_pem, leaf.cert_pem),
        leaf.cert_pem.clone(),
    ] {
        let root = Root::new();
        tls_site(&root, &chain, &other.key_pem);
        let out = root.run(&["config", "check"]);
        let check = text(&out);
        assert_eq!(out.status.code(), Some(1), "{check}");
        root.run(&["run", "--step", "tls"]);
        let step = root.step("tls");
        let message = step["message"].as_str().unwrap().to_string();
        for said in [&check, &message] {
            assert!(
                said.contains("the private key does not belong to the certificate")
                    && said.contains("supply the key the certificate was issued for"),
                "{said}"
            );
            for jargon in ["KeyMismatch", "InconsistentKeys", "keys mismatch", "Error"] {
                assert!(!said.contains(jargon), "{jargon} in: {said}");
            }
        }
    }
}
