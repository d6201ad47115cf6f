//! The package upgrades edit our HOCON files (issue 19, item 2): jicofo's and the bridge's
//! postinsts run Debian's ruby-hocon (`hocon`, from tests/install-deps) on jicofo.conf and
//! jvb.conf at every configure, under `set -e`. Here every golden jicofo.conf and jvb.conf
//! goes through the same `hocon get`/`set` calls those postinsts make (written from reading
//! jitsi/jicofo debian/postinst at 7ebb13dc, lines 76-102, and jitsi/jitsi-videobridge
//! debian/postinst at a29d97d1, lines 108-109): each call must exit 0 (a `get` of a key that
//! is absent may exit 1, as the postinsts expect, but never for a parse error), the file must
//! still parse with ruby-hocon and pyhocon, and to the same tree as before. The only change
//! allowed is the `client-proxy` key the jicofo postinst always sets, and only in the
//! variants without Jitsi's prosody plugins (which have no `focus.` component to point at;
//! on the images with jicofo the plugins are there and the key is already ours).

mod common;
use std::path::{Path, PathBuf};
use std::process::Command;

const HOST: &str = "meet.example.test";

fn goldens(name: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path().join(name))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found
}

/// `hocon -f FILE ARGS`: (exit code, stdout, stderr).
fn hocon(file: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new("hocon")
        .arg("-f")
        .arg(file)
        .args(args)
        .output()
        .expect("ruby-hocon's hocon (tests/install-deps installs ruby-hocon)");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A `set` the postinst makes unconditionally: must succeed.
fn set(file: &Path, key: &str, value: &str) {
    let (code, _, err) = hocon(file, &["set", key, value]);
    assert_eq!(code, 0, "hocon set {key} on {}: {err}", file.display());
}

/// The postinst's "get, and set when missing": the get may only fail for a missing key.
fn set_unless_present(file: &Path, key: &str, value: &str) {
    let (code, _, err) = hocon(file, &["get", key]);
    match code {
        0 => {}
        1 if err.contains("Can't find the given path") => set(file, key, value),
        _ => panic!("hocon get {key} on {}: exit {code}: {err}", file.display()),
    }
}

/// The whole file as JSON through pyhocon.
fn tree(file: &Path) -> serde_json::Value {
    common::pyhocon_json(file)
}

/// Copies `golden` to a scratch file, runs `postinst` on it, checks what the module doc says.
fn upgrade(golden: &Path, root_key: &str, postinst: impl Fn(&Path), may_add: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(golden.file_name().unwrap());
    std::fs::copy(golden, &file).unwrap();
    let before = tree(&file);
    postinst(&file);
    let (code, _, err) = hocon(&file, &["get", root_key]);
    assert_eq!(
        code,
        0,
        "{} no longer parses with ruby-hocon after the postinst's calls: {err}\n{}",
        golden.display(),
        std::fs::read_to_string(&file).unwrap_or_default()
    );
    let mut after = tree(&file);
    let variant = golden
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy();
    if !variant.ends_with("-jitsi-present") {
        for path in may_add {
            let mut node = &mut after;
            let keys: Vec<&str> = path.split('.').collect();
            for k in &keys[..keys.len() - 1] {
                node = &mut node[*k];
            }
            if let Some(o) = node.as_object_mut() {
                o.remove(keys[keys.len() - 1]);
            }
        }
    }
    assert_eq!(
        before,
        after,
        "{}: the postinst's hocon calls changed the tree",
        golden.display()
    );
}

#[test]
fn jicofos_postinst_hocon_calls_leave_every_golden_jicofo_conf_parsing_to_the_same_tree() {
    let files = goldens("jicofo.conf");
    assert!(files.len() >= 7, "golden jicofo.conf files: {files:?}");
    for golden in &files {
        upgrade(
            golden,
            "jicofo",
            |f| {
                set(
                    f,
                    "jicofo.xmpp.client.client-proxy",
                    &format!("\"focus.{HOST}\""),
                );
                for (key, value) in [
                    ("jicofo.xmpp.client.xmpp-domain", format!("\"{HOST}\"")),
                    ("jicofo.xmpp.client.domain", format!("\"auth.{HOST}\"")),
                    ("jicofo.xmpp.client.username", "\"focus\"".into()),
                    (
                        "jicofo.xmpp.client.password",
                        "\"from-the-old-config\"".into(),
                    ),
                    (
                        "jicofo.bridge.brewery-jid",
                        format!("\"JvbBrewery@internal.auth.{HOST}\""),
                    ),
                ] {
                    set_unless_present(f, key, &value);
                }
                // trusted-domains: set unless it is an array (`hocon -j get` piped to jq).
                let (code, out, err) = hocon(f, &["-j", "get", "jicofo.xmpp.trusted-domains"]);
                let is_array = code == 0
                    && serde_json::from_str::<serde_json::Value>(&out).is_ok_and(|v| v.is_array());
                assert!(
                    code == 0 || err.contains("Can't find the given path"),
                    "hocon -j get trusted-domains: {err}"
                );
                if !is_array {
                    set(
                        f,
                        "jicofo.xmpp.trusted-domains",
                        &format!("[ \"recorder.{HOST}\" ]"),
                    );
                }
            },
            &["jicofo.xmpp.client.client-proxy"],
        );
    }
}

#[test]
fn the_bridges_postinst_hocon_calls_leave_every_golden_jvb_conf_parsing_to_the_same_tree() {
    let files = goldens("jvb.conf");
    assert!(files.len() >= 7, "golden jvb.conf files: {files:?}");
    for golden in &files {
        upgrade(
            golden,
            "videobridge",
            |f| set_unless_present(f, "videobridge.apis.rest.enabled", "true"),
            &[],
        );
    }
}

/// The class, not only our files: the form we used before breaks under ruby-hocon, the
/// form we use now does not. If this ever fails, ruby-hocon changed and the include form
/// can be revisited.
#[test]
fn ruby_hocon_breaks_include_file_and_keeps_the_plain_include() {
    let dir = tempfile::tempdir().unwrap();
    for (form, survives) in [
        ("include file(\"/etc/meet-agent/x.conf\")", false),
        ("include \"/etc/meet-agent/x.conf\"", true),
    ] {
        let file = dir.path().join("t.conf");
        std::fs::write(&file, format!("a {{\n  b = 1\n}}\n{form}\n")).unwrap();
        set(&file, "a.c", "2");
        let (code, _, _) = hocon(&file, &["get", "a"]);
        assert_eq!(
            code == 0,
            survives,
            "{form}: {}",
            std::fs::read_to_string(&file).unwrap()
        );
    }
    // And the plain form is what the renderer writes.
    assert!(meet_agent::jitsi::hocon::include_local("/p").contains("\ninclude \"/p\"\n"));
}
