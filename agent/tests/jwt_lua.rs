//! JWT in prosody's Lua (issue 19, item 1), with this machine's real `lua5.4` and Debian's
//! libraries (tests/install-deps runs the images' image/provision/lua54-libraries.sh):
//! - our checker (the script the jitsi step runs) verifies a published HS256 vector and
//!   refuses it with one signature byte changed, or signed with another key;
//! - `jwt_check::check` passes with the machine's Lua 5.4, and names `basexx` on a Lua 5.4
//!   that sees only /usr/share/lua/5.4 (Debian's packages alone: the machine before the fix);
//! - `meet-agent run` in JWT mode says in the jitsi step that tokens verify, with the
//!   instance's own secret or a configured one.

mod common;
use common::Root;
use meet_agent::jitsi::jwt_check;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;

/// jwt.io's HS256 example (header {"alg":"HS256","typ":"JWT"}, payload sub/name/iat),
/// signed with the secret "your-256-bit-secret": a vector made by another implementation.
const VECTOR: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
const VECTOR_SECRET: &str = "your-256-bit-secret";

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Runs the checker with the machine's lua5.4: (exit code, stdout).
fn checker(stdin: &str) -> (i32, String) {
    let mut child = jwt_check::command(Path::new(jwt_check::LUA))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("lua5.4 (tests/install-deps installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_checker_verifies_a_published_vector_and_refuses_changed_signatures_and_other_keys() {
    let mut tampered = VECTOR.to_string();
    // The signature's first character changed (S -> T): same length, other bytes.
    let dot = tampered.rfind('.').unwrap();
    tampered.replace_range(dot + 1..dot + 2, "T");
    let other_key = jwt_check::token("app", "meet.example.test", b"another key", 4_000_000_000);
    let (code, out) = checker(&format!(
        "{}\n{VECTOR}\n{tampered}\n{other_key}\nnot-a-token\n",
        hex(VECTOR_SECRET)
    ));
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "valid nil",
            "invalid: signature",
            "invalid: signature",
            "invalid: not three base64url parts"
        ],
        "{out}"
    );
    // Our signer's tokens verify with their key, whatever bytes the key holds (a newline
    // and a NUL survive the checker's hex-encoded line).
    let key = "k\n\x00\u{e9}";
    let ours = jwt_check::token("app", "meet.example.test", key.as_bytes(), 4_000_000_000);
    let (code, out) = checker(&format!("{}\n{ours}\n", hex(key)));
    assert_eq!((code, out.as_str()), (0, "valid \"*\"\n"));
}

#[test]
fn check_passes_with_this_machines_lua_and_names_basexx_where_lua_54_lacks_it() {
    jwt_check::check(
        Path::new(jwt_check::LUA),
        "app",
        "meet.example.test",
        "s3cret",
    )
    .unwrap_or_else(|e| panic!("{e}"));

    // A Lua 5.4 that searches only Debian's own 5.4 folders: the images before the fix.
    let dir = tempfile::tempdir().unwrap();
    let wrapper = dir.path().join("lua5.4");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nLUA_PATH_5_4='/usr/share/lua/5.4/?.lua;/usr/share/lua/5.4/?/init.lua' exec {} \"$@\"\n",
            jwt_check::LUA
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let e = jwt_check::check(&wrapper, "app", "meet.example.test", "s3cret").unwrap_err();
    assert!(
        e.starts_with("JWT logins will fail: prosody's Lua 5.4 cannot load `basexx`"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "one line: {e}");

    // No interpreter at all.
    let e = jwt_check::check(
        &dir.path().join("absent"),
        "app",
        "meet.example.test",
        "s3cret",
    )
    .unwrap_err();
    assert!(e.contains("install lua5.4"), "{e}");
}

#[test]
fn a_jwt_run_says_tokens_verify_with_the_instance_secret_or_the_configured_one() {
    for extra in ["", "jwt_app_secret = \"configured-secret\"\n"] {
        let root = Root::new();
        root.write("/etc/machine-id", "33333333333333333333333333333333\n");
        root.config(
            "50-site.toml",
            &format!(
                "[server]\ndomain = \"meet.example.test\"\n[jitsi]\nauth = \"jwt\"\njwt_app_id = \"app\"\n{extra}"
            ),
        );
        root.run(&["run"]);
        let message = root.message("jitsi");
        assert!(
            message.contains("JWT: prosody's Lua 5.4 verifies a token signed with jitsi.jwt_app_secret and refuses a forged one"),
            "{extra}: {message}"
        );
    }
}
