//! RFC 2136 with TSIG against a real DNS server (Debian's knotd on 127.0.0.1), and the DNS
//! wait finding knotd by walking up to the zone's NS records, with pebble resolving
//! through the same knotd: update -> wait -> HTTP-01 -> certificate.

mod common;
#[path = "common/knot.rs"]
mod knot;
#[path = "common/pebble.rs"]
mod pebble;
use common::{text, Root};
use knot::Knot;
use pebble::{Options, Pebble};

const DOMAIN: &str = "meet.example.test";

fn update_config(knot: &Knot, secret: &str) -> String {
    format!(
        "[[dns.update]]\ntype = \"rfc2136\"\nserver = \"127.0.0.1:{}\"\nkey_name = \"{}\"\nkey_secret = \"{secret}\"\n",
        knot.port,
        knot::KEY_NAME
    )
}

#[test]
fn rfc2136_update_then_ns_walk_wait_then_certificate() {
    let knot = Knot::start("192.0.2.1");
    let pebble = Pebble::start_with(Options {
        dns_server: Some(knot.port),
        ..Options::default()
    });
    let root = Root::new();
    root.config("00.toml", &pebble.agent_config(DOMAIN));
    // Ask knotd as the resolver, and let the wait find the nameservers by NS lookup.
    root.config(
        "10-dns.toml",
        &format!(
            "{}[dns.wait]\nresolvers = [\"127.0.0.1:{port}\"]\nnameservers = []\nnameserver_port = {port}\n",
            update_config(&knot, knot::KEY_SECRET),
            port = knot.port
        ),
    );
    let out = root.run(&["run"]);
    let all = text(&out);
    let state = root.state();
    let ddns = &state["steps"]["ddns"];
    assert_eq!(ddns["state"], "ok", "{ddns}\n{all}");
    assert_eq!(
        knot.query("meet"),
        "127.0.0.1",
        "knotd did not take the update"
    );
    let wait = &state["steps"]["dns-wait"];
    assert_eq!(wait["state"], "ok", "{wait}\n{all}");
    let message = wait["message"].as_str().unwrap();
    assert!(message.contains("zone example.test"), "{message}");
    assert!(
        message.contains(&format!(
            "authoritative 127.0.0.1:{} answers A 127.0.0.1",
            knot.port
        )),
        "{message}"
    );
    assert_eq!(state["steps"]["tls"]["state"], "ok", "{all}");
    common::verify_installed(&root, &pebble.issuing_root(), DOMAIN).unwrap();
}

#[test]
fn a_wrong_tsig_key_is_refused_in_the_servers_words() {
    let knot = Knot::start("192.0.2.1");
    let root = Root::new();
    root.config(
        "00.toml",
        &format!(
            "[source]\nprovider = \"none\"\n[server]\ndomain = \"{DOMAIN}\"\npublic_ipv4 = \"203.0.113.7\"\n{}",
            update_config(&knot, "d3JvbmcgdHNpZyBrZXkgb2YgdGhpcnR5LXR3byBieXRlcw==")
        ),
    );
    let out = root.run(&["run"]);
    let ddns = &root.state()["steps"]["ddns"];
    assert_eq!(ddns["state"], "failed", "{ddns}\n{}", text(&out));
    let message = ddns["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "rfc2136 127.0.0.1:{} zone example.test",
            knot.port
        )),
        "{message}"
    );
    assert!(
        message.contains("answered NOTAUTH (the server does not accept this TSIG key"),
        "{message}"
    );
    // Refusals are final: one attempt, no backoff.
    assert!(!message.contains("attempts"), "{message}");
    assert_eq!(
        knot.query("meet"),
        "192.0.2.1",
        "the record changed without the key"
    );
}
