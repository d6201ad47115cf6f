//! No secret ever reaches a log line, the state file, status or `config show`, at any
//! verbosity, whether the key is valid, wrong, or sits next to a syntax error.

mod common;
use common::{Root, TestCa};
use meet_agent::encoding::gzip_base64;

/// Distinctive pieces of the key in every form it may be given in.
fn fingerprints(key_pem: &str) -> Vec<String> {
    let body: Vec<&str> = key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let mut prints: Vec<String> = body
        .iter()
        .map(|l| l[..l.len().min(24)].to_string())
        .collect();
    let gz = gzip_base64(key_pem.as_bytes()).unwrap();
    prints.push(gz[10..40].to_string());
    prints
}

fn assert_clean(root: &Root, haystack: &str, prints: &[String], what: &str) {
    for p in prints {
        assert!(
            !haystack.contains(p.as_str()),
            "{what} contains key material `{p}`"
        );
    }
    let state =
        std::fs::read_to_string(root.join("/var/lib/meet-agent/state.json")).unwrap_or_default();
    for p in prints {
        assert!(
            !state.contains(p.as_str()),
            "state.json contains key material"
        );
    }
}

fn everything(root: &Root) -> String {
    let mut all = String::new();
    for args in [
        &["-vvv", "run"][..],
        &["-vvv", "status"],
        &["-vvv", "status", "--json"],
        &["-vvv", "config", "show"],
        &["-vvv", "config", "check"],
    ] {
        let out = root.run(args);
        all.push_str(&String::from_utf8_lossy(&out.stdout));
        all.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    all
}

#[test]
fn valid_wrong_and_broken_inline_keys_never_appear_in_output() {
    let ca = TestCa::new();
    let leaf = ca.leaf(&["meet.example.test"]);
    let other = ca.leaf(&["meet.example.test"]);
    let gz_key = gzip_base64(leaf.key_pem.as_bytes()).unwrap();
    let base = "[source]\nprovider = \"none\"\n[server]\ndomain = \"meet.example.test\"\n";

    // Valid pair, key given as gzip+base64.
    let root = Root::new();
    root.config("00.toml", base);
    root.config(
        "10.toml",
        &format!(
            "[tls]\ncertificate = '''{}'''\nkey = \"{gz_key}\"\n",
            ca.chain(&leaf)
        ),
    );
    let all = everything(&root);
    assert!(
        all.contains("supplied certificate"),
        "the run happened: {all}"
    );
    assert_clean(&root, &all, &fingerprints(&leaf.key_pem), "a valid run");

    // A key that does not match (so error paths run).
    let root = Root::new();
    root.config("00.toml", base);
    root.config(
        "10.toml",
        &format!(
            "[tls]\ncertificate = '''{}'''\nkey = '''{}'''\n",
            ca.chain(&leaf),
            other.key_pem
        ),
    );
    let all = everything(&root);
    assert!(all.contains("does not belong"), "{all}");
    assert_clean(&root, &all, &fingerprints(&other.key_pem), "a key mismatch");

    // A syntax error on the key's own line: toml's snippet would quote it; ours must not.
    let root = Root::new();
    root.config("00.toml", base);
    let first_line = other.key_pem.lines().nth(1).unwrap();
    root.config("10.toml", &format!("[tls]\nkey = \"{first_line}\n"));
    let all = everything(&root);
    assert!(all.contains("line 2"), "{all}");
    assert_clean(&root, &all, &fingerprints(&other.key_pem), "a syntax error");
}
