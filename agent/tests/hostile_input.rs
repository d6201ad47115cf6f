//! Hostile input (issue 13): each test reproduces one finding of a hostile-user session
//! against the real binary on a test root, and proves the whole class is closed.

mod common;

use base64::Engine;
use common::{text, Root, TestCa};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const DOMAIN: &str = "hostile.example.test";

/// Runs `cmd` to its end, or kills it after `limit` and fails the test: a hang is the
/// finding some of these tests reproduce.
fn finishes_within(mut cmd: Command, limit: Duration, what: &str) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    common::wait_bounded(child, limit, what)
}

fn agent(root: &Root, args: &[&str]) -> Command {
    root.command(args, &[])
}

fn site(root: &Root) {
    root.write("/etc/machine-id", "13131313131313131313131313131313\n");
    root.config(
        "00-site.toml",
        &format!("[source]\nprovider = \"none\"\n[server]\ndomain = \"{DOMAIN}\"\npublic_ipv4 = \"203.0.113.13\"\n[dns.wait]\nenabled = false\n"),
    );
}

// ---- 1. Secrets echoed by a provider, in any encoding ----

/// A provider that answers 400 and echoes the request: its request line (the password
/// URL-encoded), its Authorization header (base64 of user:password), the password as a
/// JSON string and as a form value (`+` for the space).
fn echoing_provider(password: &'static str) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = vec![0u8; 16384];
            let mut n = 0;
            while !buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf[n..]) {
                    Ok(0) | Err(_) => break,
                    Ok(m) => n += m,
                }
            }
            let request = String::from_utf8_lossy(&buf[..n]).into_owned();
            let line = request.lines().next().unwrap_or("").to_string();
            let auth = request
                .lines()
                .find_map(|l| l.strip_prefix("authorization: "))
                .unwrap_or("")
                .to_string();
            let form: String = password
                .split(' ')
                .map(|p| {
                    percent_encoding::utf8_percent_encode(p, percent_encoding::NON_ALPHANUMERIC)
                        .to_string()
                })
                .collect::<Vec<_>>()
                .join("+");
            let json = serde_json::to_string(password).unwrap().replace('/', "\\/");
            let body =
                format!("bad request {line} auth={auth} form=pw={form} json={{\"pw\":{json}}}");
            let _ = write!(
                conn,
                "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[test]
fn a_provider_echoing_the_request_never_puts_a_credential_in_any_form_into_output_or_state() {
    const PASSWORD: &str = "ECHOPASS p&ss+1/=\"";
    let port = echoing_provider(PASSWORD);
    let root = Root::new();
    site(&root);
    root.config(
        "10-ddns.toml",
        &format!(
            "[dns]\nupdate_timeout_seconds = 1\n[[dns.update]]\ntype = \"url\"\nurl = \"http://127.0.0.1:{port}/nic/update?h={{domain}}&pw={{password}}\"\nusername = \"echouser\"\npassword = {}\n",
            serde_json::to_string(PASSWORD).unwrap()
        ),
    );
    let run = root.run(&["run", "--step", "ddns"]);
    let message = root.message("ddns");
    assert!(message.contains("HTTP 400"), "{message}\n{}", text(&run));
    assert!(message.contains("<redacted>"), "{message}");

    let b64 = base64::engine::general_purpose::STANDARD;
    let forbidden = [
        "ECHOPASS".to_string(),
        b64.encode(format!("echouser:{PASSWORD}")),
        b64.encode(PASSWORD),
        // What any base64 holding the password at the start of a group has.
        b64.encode(&PASSWORD.as_bytes()[..12]),
    ];
    let status = root.run(&["status"]);
    let (_, json) = root.status_json(&[]);
    let state = std::fs::read_to_string(root.join("/var/lib/meet-agent/state.json")).unwrap();
    for (what, output) in [
        ("run's log", text(&run)),
        ("status", text(&status)),
        ("status --json", json.to_string()),
        ("state.json", state),
    ] {
        for secret in &forbidden {
            assert!(
                !output.contains(secret.as_str()),
                "{what} holds the credential as {secret}:\n{output}"
            );
        }
    }
    // And the state file is root's alone, whatever it holds.
    let mode = std::fs::metadata(root.join("/var/lib/meet-agent/state.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "state.json mode {mode:o}");
}

// ---- 2. A secret of the wrong TOML type ----

#[test]
fn a_secret_of_the_wrong_type_is_named_but_never_quoted() {
    let values = [
        "98765432109876",
        "987654.32109876",
        "[98765432109876]",
        "{ x = 98765432109876 }",
        "1987-06-05T04:32:10Z",
        "true",
    ];
    let keys = [
        ("[[dns.update]]\ntype = \"url\"\nurl = \"http://127.0.0.1:1/\"\npassword", "password"),
        ("[[dns.update]]\ntype = \"url\"\nurl = \"http://127.0.0.1:1/\"\nheader = \"X\"\ntoken", "token"),
        ("[[dns.update]]\ntype = \"rfc2136\"\nserver = \"127.0.0.1\"\nkey_name = \"k\"\nkey_secret", "key_secret"),
        ("[tls.acme]\neab_hmac_key", "eab_hmac_key"),
        ("[jitsi]\njwt_app_secret", "jwt_app_secret"),
        ("[tls]\nkey", "key"),
    ];
    for (head, key) in keys {
        for value in values {
            let root = Root::new();
            site(&root);
            root.config("20-secret.toml", &format!("{head} = {value}\n"));
            let out = root.run(&["config", "check"]);
            let all = text(&out);
            assert_eq!(out.status.code(), Some(1), "{all}");
            assert!(
                all.contains(key) && all.contains("expected a string"),
                "{all}"
            );
            for digits in ["98765432109876", "987654", "1987-06-05", "true"] {
                assert!(
                    !all.contains(digits),
                    "{key} = {value}: the value is quoted: {all}"
                );
            }
        }
    }
}

// ---- 3 to 8. Users ----

/// A root with prosody's configuration where Debian puts it (no data_path set, as on
/// Debian), its data folder below the root and owned by prosody, and a secure-domain site.
fn user_root() -> Root {
    let root = Root::new();
    common::prosody_user_store(&root, DOMAIN);
    site(&root);
    root.config("10-auth.toml", "[jitsi]\nauth = \"secure-domain\"\n");
    root
}

fn user(root: &Root, args: &[&str], stdin: &str) -> Output {
    let mut child = agent(root, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The agent may refuse the name before it reads stdin and be gone: no error then.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

fn accounts(root: &Root) -> Vec<String> {
    let dir = root.join(&format!(
        "/var/lib/prosody/{}/accounts",
        DOMAIN.replace('.', "%2e")
    ));
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_password_with_a_line_break_is_refused_not_cut_at_the_break() {
    let root = user_root();
    for stdin in [
        "abcdefgh\nsecondline\n",
        "abcdefgh\nsecondline",
        "abcdefgh\r\nsecond\n",
    ] {
        let out = user(&root, &["user", "add", "carol"], stdin);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(text(&out).contains("line break"), "{}", text(&out));
    }
    assert!(accounts(&root).is_empty(), "{:?}", accounts(&root));
    // One final line break is the end of the line, not part of the password.
    let out = user(&root, &["user", "add", "carol"], "abcdefgh\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn names_that_read_as_options_or_paths_get_our_message_not_prosodyctls_help() {
    let root = user_root();
    for name in ["-rf", "--help", "-", ".", "..", "_hidden", "a/b", "a b"] {
        let out = user(&root, &["user", "add", "--", name], "abcdefgh\n");
        let all = text(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {all}");
        assert!(all.contains("is not a user name"), "{name}: {all}");
        assert!(!all.contains("prosodyctl"), "{name}: {all}");
    }
    assert!(accounts(&root).is_empty());
}

#[test]
fn a_password_past_prosodys_limit_is_refused_in_our_words() {
    let root = user_root();
    for password in ["x".repeat(1024), "x".repeat(5000), "\u{fdfa}".repeat(100)] {
        let out = user(&root, &["user", "add", "dave"], &format!("{password}\n"));
        let all = text(&out);
        assert_eq!(out.status.code(), Some(1), "{all}");
        assert!(all.contains("longer than 1000 bytes"), "{all}");
        assert!(!all.contains("SASLprep"), "{all}");
    }
    let out = user(
        &root,
        &["user", "add", "dave"],
        &format!("{}\n", "x".repeat(1000)),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn every_user_command_works_below_the_root_it_is_given() {
    let root = user_root();
    let host = Path::new("/var/lib/prosody").join(DOMAIN.replace('.', "%2e"));
    let out = user(&root, &["user", "add", "erin"], "erin's password\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(accounts(&root), ["erin.dat"]);
    let out = user(&root, &["user", "list"], "");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "erin\n",
        "{}",
        text(&out)
    );
    let before = std::fs::read(root.join(&format!(
        "/var/lib/prosody/{}/accounts/erin.dat",
        DOMAIN.replace('.', "%2e")
    )))
    .unwrap();
    let out = user(&root, &["user", "passwd", "erin"], "a new password\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let after = std::fs::read(root.join(&format!(
        "/var/lib/prosody/{}/accounts/erin.dat",
        DOMAIN.replace('.', "%2e")
    )))
    .unwrap();
    assert_ne!(before, after, "passwd changed the account below the root");
    let out = user(&root, &["user", "del", "erin"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(accounts(&root).is_empty());
    assert!(!host.exists(), "the host's {} was touched", host.display());

    // Without prosody below the root, nothing falls back to the host's.
    let bare = Root::new();
    site(&bare);
    bare.config("10-auth.toml", "[jitsi]\nauth = \"secure-domain\"\n");
    let out = user(&bare, &["user", "add", "erin"], "erin's password\n");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("etc/prosody/prosody.cfg.lua"),
        "{}",
        text(&out)
    );
    assert!(!host.exists());
}

#[test]
fn two_simultaneous_adds_of_one_name_are_one_success_and_one_refusal() {
    let root = user_root();
    for round in 0..3 {
        let name = format!("frank{round}");
        let spawn = |password: &str| {
            let mut child = agent(&root, &["user", "add", &name])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let _ = child.stdin.take().unwrap().write_all(password.as_bytes());
            child
        };
        let (a, b) = (spawn("first password\n"), spawn("second password\n"));
        let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
        let ok = outs.iter().filter(|o| o.status.code() == Some(0)).count();
        let all: String = outs.iter().map(text).collect();
        assert_eq!(ok, 1, "exactly one add succeeds:\n{all}");
        assert!(all.contains("already exists"), "{all}");
    }
}

#[test]
fn messages_name_the_user_as_stored_and_point_at_our_own_commands() {
    let root = user_root();
    let out = user(&root, &["user", "add", "ﬀ"], "abcdefgh\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("added ff@{DOMAIN}\n")
    );
    let out = user(&root, &["user", "add", "ＡＢＣ"], "abcdefgh\n");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("added abc@{DOMAIN}\n"),
        "{}",
        text(&out)
    );
    let out = user(&root, &["user", "del", "ａｂｃ"], "");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("deleted abc@{DOMAIN}\n"),
        "{}",
        text(&out)
    );
    let out = user(&root, &["user", "passwd", "nobody"], "abcdefgh\n");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("meet-agent user add nobody"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("prosodyctl"), "{}", text(&out));
    // The limits say what they count: 40 two-byte letters are 40 characters and fine.
    let e40 = "é".repeat(40);
    let out = user(&root, &["user", "add", &e40], "abcdefgh\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = user(&root, &["user", "list"], "");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&e40),
        "{}",
        text(&out)
    );
    let out = user(&root, &["user", "add", &"a".repeat(65)], "abcdefgh\n");
    assert!(
        text(&out).contains("65 characters, at most 64"),
        "{}",
        text(&out)
    );
}

// ---- 9. FIFOs and devices ----

fn fifo(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
}

#[test]
fn a_fifo_or_device_as_a_config_or_key_file_is_refused_by_name_without_hanging() {
    let root = Root::new();
    site(&root);
    let pipe = root.join("/etc/meet-agent/config.d/50-pipe.toml");
    fifo(&pipe);
    for args in [&["config", "check"][..], &["run"], &["user", "list"]] {
        let out = finishes_within(agent(&root, args), Duration::from_secs(30), &args.join(" "));
        let all = text(&out);
        assert_ne!(out.status.code(), Some(0), "{all}");
        assert!(
            all.contains("50-pipe.toml") && all.contains("FIFO"),
            "{args:?}: {all}"
        );
    }
    // The run lock is not held by anything that hangs: renew finishes too.
    let out = finishes_within(agent(&root, &["renew"]), Duration::from_secs(30), "renew");
    assert!(text(&out).contains("50-pipe.toml"), "{}", text(&out));
    std::fs::remove_file(&pipe).unwrap();

    // Certificate and key material given as a path to a FIFO or a device.
    let key = root.join("/etc/meet-agent/supplied/key.pem");
    fifo(&key);
    for (cert, key) in [
        ("/dev/zero".to_string(), key.display().to_string()),
        (key.display().to_string(), "/dev/zero".to_string()),
    ] {
        root.config(
            "20-tls.toml",
            &format!("[tls]\ncertificate = \"{cert}\"\nkey = \"{key}\"\n"),
        );
        let out = finishes_within(
            agent(&root, &["run", "--step", "tls"]),
            Duration::from_secs(30),
            "run --step tls",
        );
        let message = root.message("tls");
        assert!(
            message.contains("not a regular file") && message.contains(&cert),
            "{message}\n{}",
            text(&out)
        );
    }
}

// ---- 10. Unbounded certificate material ----

#[test]
fn certificate_material_is_bounded_in_what_is_read_decompressed_and_installed() {
    let ca = TestCa::new();
    let leaf = ca.leaf(&[DOMAIN]);
    let root = Root::new();
    site(&root);
    let key = root.write("/etc/meet-agent/supplied/key.pem", &leaf.key_pem);
    let tls = |certificate: &str| {
        root.config(
            "20-tls.toml",
            &format!(
                "[tls]\ncertificate = \"{certificate}\"\nkey = \"{}\"\n",
                key.display()
            ),
        );
        let started = Instant::now();
        let out = root.run(&["run", "--step", "tls"]);
        (root.message("tls"), started.elapsed(), out)
    };

    // gzip+base64 inline that expands to 64 MiB: refused after 256 KiB, quickly.
    let bomb = {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(leaf.cert_pem.as_bytes()).unwrap();
        let zeros = vec![b'\n'; 1 << 20];
        for _ in 0..64 {
            gz.write_all(&zeros).unwrap();
        }
        base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap())
    };
    let (message, took, out) = tls(&bomb);
    assert!(
        message.contains("more than 262144 bytes"),
        "{message}\n{}",
        text(&out)
    );
    assert!(took < Duration::from_secs(20), "{took:?}");

    // A chain of many copies of one certificate is not installed.
    let chain = root.write(
        "/etc/meet-agent/supplied/chain.pem",
        leaf.cert_pem.repeat(200),
    );
    let (message, _, out) = tls(&chain.display().to_string());
    assert!(
        message.contains("200 certificates, more than 10"),
        "{message}\n{}",
        text(&out)
    );
    let installed =
        std::fs::read_to_string(root.join("/etc/meet-agent/tls/fullchain.pem")).unwrap_or_default();
    assert!(installed.matches("BEGIN CERTIFICATE").count() <= 10);

    // A file larger than the limit is not read whole.
    let big = root.write(
        "/etc/meet-agent/supplied/big.pem",
        leaf.cert_pem.repeat(2000),
    );
    let (message, _, out) = tls(&big.display().to_string());
    assert!(
        message.contains("larger than 524288 bytes") && message.contains("big.pem"),
        "{message}\n{}",
        text(&out)
    );

    // What is within the limits still works.
    let good = root.write("/etc/meet-agent/supplied/good.pem", ca.chain(&leaf));
    let (message, _, out) = tls(&good.display().to_string());
    assert!(
        message.starts_with("supplied certificate"),
        "{message}\n{}",
        text(&out)
    );
}

// ---- 11. Drop-in names that are not UTF-8 ----

#[test]
fn drop_ins_whose_names_are_not_utf8_are_refused_by_name() {
    use std::os::unix::ffi::OsStrExt;
    let root = Root::new();
    site(&root);
    let dir = root.join("/etc/meet-agent/config.d");
    for (byte, body) in [
        (0xff_u8, "[server]\ncontact_email = \"a@example.org\"\n"),
        (0xfe, "[server]\nno_such_key = 1\n"),
    ] {
        let mut name = b"50-".to_vec();
        name.push(byte);
        name.extend_from_slice(b".toml");
        std::fs::write(dir.join(std::ffi::OsStr::from_bytes(&name)), body).unwrap();
    }
    let out = root.run(&["config", "check"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("not UTF-8") && all.contains("50-\\x"), "{all}");
}

// ---- 12. A full disk ----

#[test]
fn a_full_disk_under_the_state_file_is_a_failed_step_with_what_to_free() {
    let root = Root::new();
    site(&root);
    let state_dir = root.join("/var/lib/meet-agent");
    std::fs::create_dir_all(&state_dir).unwrap();
    // A private mount namespace with a tiny, filled tmpfs where the state file goes.
    let script = format!(
        "mount -t tmpfs -o size=64k tmpfs '{dir}' && touch '{dir}/run.lock' && \
         (dd if=/dev/zero of='{dir}/filler' bs=4k 2>/dev/null; true) && \
         exec '{bin}' --root '{root}' run --step identity",
        dir = state_dir.display(),
        bin = env!("CARGO_BIN_EXE_meet-agent"),
        root = root.path().display()
    );
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .env(
            "DBUS_SYSTEM_BUS_ADDRESS",
            "unix:path=/nonexistent/meet-agent-test-bus",
        )
        .env_remove("NOTIFY_SOCKET")
        .output()
        .expect("unshare (util-linux) must be installed");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("disk is full") && all.contains("free space") && all.contains("state.json"),
        "{all}"
    );
    assert_eq!(
        std::fs::metadata(&state_dir).unwrap().dev(),
        std::fs::metadata(root.path()).unwrap().dev(),
        "the tmpfs stayed in its namespace"
    );
}

/// The name printed is the name stored. We pass prosody the prepared name, so what it
/// stores is its nodeprep of that: for every name we accept, that is our name unchanged
/// (or prosody refuses it, and the command fails), never another one. And for names of
/// Unicode 3.2, stringprep's frozen version, ours is what prosody makes of the name as
/// typed (through its own Lua library, as prosodyctl runs it); later additions (`ẞ`,
/// Cherokee small letters) prosody refuses or leaves as they are.
#[test]
fn prepared_names_agree_with_prosodys_nodeprep() {
    let unicode_3_2 = [
        "Alice",
        "ﬀ",
        "ＡＢＣ",
        "Straße",
        "ΟΔΟΣ",
        "Ⅻ",
        "ǅemal",
        "ﬁx",
        "ſam",
        "µ",
        "Kelvin\u{212a}",
        "\u{212b}ngström",
        "ıdil",
        "ИВАН",
        "José",
        "e\u{301}lan",
        "x²",
        "Ǆ",
        "ǈ",
        "ﾊﾟ",
        "ⅷ",
        "ς",
        "ϐeta",
        "ǰ",
        "ŉ",
        "j.doe-2_x",
    ];
    let later = ["ẞ", "Ꭰ", "ꭰ"];
    let nodeprep = |names: &[String]| -> Vec<String> {
        let script = "package.path='/usr/lib/prosody/?.lua;'..package.path \
                      package.cpath='/usr/lib/prosody/?.so;'..package.cpath \
                      local e=require'util.encodings' \
                      for line in io.lines() do print(e.stringprep.nodeprep(line, true) or '<refused>') end";
        let mut child = Command::new("lua5.4")
            .args(["-e", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("lua5.4 (prosody's interpreter) must be installed");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(names.join("\n").as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let lines: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(lines.len(), names.len());
        lines
    };
    let all: Vec<&str> = unicode_3_2.iter().chain(&later).copied().collect();
    let ours: Vec<Option<String>> = all
        .iter()
        .map(|n| meet_agent::users::prepare_name(n).ok())
        .collect();
    let accepted: Vec<String> = ours.iter().flatten().cloned().collect();
    assert!(accepted.len() >= 25, "{accepted:?}");
    let mut differ = Vec::new();
    for (ours, stored) in accepted.iter().zip(nodeprep(&accepted)) {
        if *ours != stored && stored != "<refused>" {
            differ.push(format!("we pass {ours}, prosody stores {stored}"));
        }
    }
    let typed: Vec<String> = unicode_3_2.iter().map(|s| s.to_string()).collect();
    for ((name, theirs), ours) in unicode_3_2.iter().zip(nodeprep(&typed)).zip(&ours) {
        if let Some(ours) = ours {
            if *ours != theirs {
                differ.push(format!("{name}: ours {ours}, prosody's {theirs}"));
            }
        }
    }
    assert!(differ.is_empty(), "{differ:#?}");
}
